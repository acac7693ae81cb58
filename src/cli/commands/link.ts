import { createInterface } from "node:readline/promises";
import qrcode from "qrcode-terminal";
import { loadConfig } from "../../config/load.js";
import { SystemClock } from "../../core/clock.js";
import { ensureDataDir } from "../../core/data-dir.js";
import { HubError } from "../../core/errors.js";
import { createLogger } from "../../core/log.js";
import { linkPatient } from "../../forward/pkb-rest/link.js";
import { tokenStore } from "../../forward/pkb-rest/route.js";
import { actAsService } from "../../ops/privileges.js";
import { serviceAccount } from "../../ops/users.js";
import { type Command, parse, requireOption, secondsOption } from "../io.js";

function qr(text: string): Promise<string> {
  return new Promise((resolve) => qrcode.generate(text, { small: true }, resolve));
}

export const link: Command = {
  name: "link",
  usage:
    "pkb-hub link PATIENT --config FILE [--mode loopback|paste|device] [--timeout-sec N] [--new-account] [--accept-unverified] [--shared-account]",
  summary: "link a patient's PKB account to this hub (the patient approves in a browser)",
  async run(args, io) {
    const { values, positionals } = parse(
      args,
      {
        config: { type: "string", short: "c" },
        mode: { type: "string", default: "loopback" },
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
    const timeoutSec = secondsOption(values["timeout-sec"], "--timeout-sec");
    const config = loadConfig(requireOption(values.config, "--config FILE"));
    const patient = config.patients.find((p) => p.key === key);
    if (!patient) throw new HubError("USAGE", `no patient '${key}' in the configuration`);
    if (patient.route !== "pkb-rest" || !config.routes.pkbRest) {
      throw new HubError("USAGE", `patient '${key}' does not use the pkb-rest route`);
    }
    process.umask(0o077);
    // Run by root, the link and the key are written as the service account, which must read them.
    actAsService(config.hub.dataDir, serviceAccount(config.hub));
    ensureDataDir(config.hub.dataDir);
    const clock = new SystemClock({ mode: "assume-synced" });
    // Paste mode reads the code; loopback mode also takes a paste when someone is at the terminal.
    const reading = mode === "paste" || (mode === "loopback" && process.stdin.isTTY === true);
    const rl = reading ? createInterface({ input: process.stdin, output: process.stderr }) : undefined;
    try {
      const result = await linkPatient({
        route: config.routes.pkbRest,
        patient,
        store: tokenStore(config.hub.dataDir),
        clock,
        mode,
        timeoutMs: timeoutSec * 1000,
        newAccount: values["new-account"] === true,
        acceptUnverified: values["accept-unverified"] === true,
        sharedAccount: values["shared-account"] === true,
        logger: createLogger({ level: config.log.level }),
        show: (url, userCode) => {
          io.out("Ask the patient to open this address, sign in to Patients Know Best and approve the hub:");
          io.out(url.href);
          if (userCode) io.out(`and, if asked, enter the code: ${userCode}`);
          void qr(url.href).then((code) => io.out(code));
          if (mode === "loopback")
            io.out(`Waiting for the approval at ${config.routes.pkbRest?.redirectUri} …`);
        },
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
