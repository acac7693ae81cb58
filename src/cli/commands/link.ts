import { createInterface } from "node:readline/promises";
import qrcode from "qrcode-terminal";
import { loadConfig } from "../../config/load.js";
import { SystemClock } from "../../core/clock.js";
import { ensureDataDir } from "../../core/data-dir.js";
import { HubError } from "../../core/errors.js";
import { createLogger } from "../../core/log.js";
import { assertLinkable, linkPatient } from "../../forward/pkb-rest/link.js";
import { oauthConfig, startAuthorization } from "../../forward/pkb-rest/oauth.js";
import { tokenStore } from "../../forward/pkb-rest/route.js";
import { clearPending, readPending, savePending } from "../../ops/link-pending.js";
import { linkPreflight } from "../../ops/link-preflight.js";
import { actAsService } from "../../ops/privileges.js";
import { serviceAccount } from "../../ops/users.js";
import { type CliIo, type Command, parse, requireOption, secondsOption } from "../io.js";

function qr(text: string): Promise<string> {
  return new Promise((resolve) => qrcode.generate(text, { small: true }, resolve));
}

/**
 * Where the patient's browser must be for each mode. Only the device grant can be finished on a
 * phone: the other modes return to the hub's own loopback address, which a phone cannot reach, so
 * they get no QR code.
 */
function showFor(io: CliIo, mode: "loopback" | "paste" | "device", redirectUri: string, twoStep: boolean) {
  return (url: URL, userCode?: string) => {
    if (mode === "device") {
      io.out(
        "On any phone or computer: scan the code below (or open the address), sign in to Patients Know Best and approve the hub:",
      );
      io.out(url.href);
      if (userCode) io.out(`and, if asked, enter the code: ${userCode}`);
      void qr(url.href).then((code) => io.out(code));
      return;
    }
    const port = new URL(redirectUri).port || "80";
    if (mode === "loopback") {
      io.out("Open this address in a browser ON THIS HUB, or on a laptop connected to it with");
      io.out(`  ssh -L ${port}:127.0.0.1:${port} <user>@<hub>`);
      io.out("(PKB sends the browser back to the hub's own address, which only such a browser reaches):");
    } else {
      io.out("Open this address on any computer, sign in to Patients Know Best and approve the hub.");
      io.out(
        `The browser then goes to an address that does not load (${redirectUri}?code=…): copy that whole address${twoStep ? "" : " and paste it here"}.`,
      );
    }
    io.out(url.href);
    if (mode === "loopback") io.out(`Waiting for the approval at ${redirectUri} …`);
  };
}

export const link: Command = {
  name: "link",
  usage:
    "pkb-hub link PATIENT --config FILE [--mode loopback|paste|device] [--redirect-url URL | --code CODE] [--timeout-sec N] [--new-account] [--accept-unverified] [--shared-account]",
  summary:
    "link a patient's PKB account to this hub (checks PKB and the client credentials first; the patient approves in a browser)",
  async run(args, io) {
    const { values, positionals } = parse(
      args,
      {
        config: { type: "string", short: "c" },
        mode: { type: "string", default: "loopback" },
        "redirect-url": { type: "string" },
        code: { type: "string" },
        "timeout-sec": { type: "string", default: "600" },
        "new-account": { type: "boolean", default: false },
        "accept-unverified": { type: "boolean", default: false },
        "shared-account": { type: "boolean", default: false },
      },
      true,
    );
    const key = positionals[0];
    if (!key || positionals.length > 1) throw new HubError("USAGE", "give exactly one patient key");
    const mode = values.mode;
    if (mode !== "loopback" && mode !== "paste" && mode !== "device")
      throw new HubError("USAGE", "--mode must be loopback, paste or device");
    if (values["redirect-url"] !== undefined && values.code !== undefined)
      throw new HubError("USAGE", "give --redirect-url or --code, not both");
    const pasted = values["redirect-url"] ?? values.code;
    const timeoutSec = secondsOption(values["timeout-sec"], "--timeout-sec");
    const file = requireOption(values.config, "--config FILE");
    const config = loadConfig(file);
    const patient = config.patients.find((p) => p.key === key);
    if (!patient) throw new HubError("USAGE", `no patient '${key}' in the configuration`);
    const route = config.routes.pkbRest;
    if (patient.route !== "pkb-rest" || !route) {
      throw new HubError("USAGE", `patient '${key}' does not use the pkb-rest route`);
    }
    const acceptUnverified = values["accept-unverified"] === true;
    assertLinkable(patient, acceptUnverified);
    process.umask(0o077);
    // Run by root, the link and the key are written as the service account, which must read them.
    actAsService(config.hub.dataDir, serviceAccount(config.hub));
    ensureDataDir(config.hub.dataDir);
    // Nobody is asked to approve a link that cannot work: PKB unreachable, client credentials refused.
    await linkPreflight(route);
    const clock = new SystemClock({ mode: "assume-synced" });
    const dataDir = config.hub.dataDir;
    const twoStep = mode === "paste" && pasted === undefined && process.stdin.isTTY !== true;
    if (twoStep) {
      const request = await startAuthorization(oauthConfig(route), route);
      savePending(dataDir, key, request, clock.nowMs());
      showFor(io, "paste", route.redirectUri, true)(request.url);
      io.out("Then give it to the hub (within 15 minutes):");
      io.out(`  pkb-hub link ${key} --config ${file} --redirect-url '<the address>'`);
      return 0;
    }
    // Paste mode reads the code; loopback mode also takes a paste when someone is at the terminal.
    const reading =
      pasted === undefined && (mode === "paste" || (mode === "loopback" && process.stdin.isTTY === true));
    const rl = reading ? createInterface({ input: process.stdin, output: process.stderr }) : undefined;
    try {
      const result = await linkPatient({
        route,
        patient,
        store: tokenStore(dataDir),
        clock,
        mode: pasted === undefined ? mode : "paste",
        timeoutMs: timeoutSec * 1000,
        newAccount: values["new-account"] === true,
        acceptUnverified,
        sharedAccount: values["shared-account"] === true,
        logger: createLogger({ level: config.log.level }),
        show: showFor(io, mode, route.redirectUri, false),
        ...(pasted !== undefined
          ? { resume: { request: readPending(dataDir, key, clock.nowMs()), pasted } }
          : {}),
        ...(rl
          ? {
              paste: () =>
                rl.question(
                  mode === "paste"
                    ? "Paste the address PKB redirected to (or the code): "
                    : "…or, if the browser was on another machine, paste the address it ended on: ",
                ),
            }
          : {}),
      });
      clearPending(dataDir, key);
      if (result.acceptedUnverified)
        io.err(
          `warning: patient ${key} was linked WITHOUT an NHS number check (--accept-unverified): make sure PKB account ${result.pkbId} is theirs`,
        );
      if (result.sharedAccount)
        io.err(
          `warning: PKB account ${result.pkbId} is shared with another local patient (--shared-account)`,
        );
      io.out(`linked patient ${key} (PKB account ${result.pkbId}); readings will now be delivered`);
      return 0;
    } finally {
      rl?.close();
    }
  },
};
