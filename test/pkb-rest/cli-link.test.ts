import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/cli.js";
import { tokenStore } from "../../src/forward/pkb-rest/route.js";
import { type PkbStandin, startPkbStandin } from "../standin/pkb.js";
import { approveAs, approveDeviceAs } from "../standin/pkb-browser.js";
import { ANN } from "../support/pkb-patients.js";
import { tempDir } from "../support/tmp.js";

let tmp: ReturnType<typeof tempDir>;
let pkb: PkbStandin;
let configFile: string;
const port = 20000 + Math.floor(Math.random() * 20000);

beforeEach(async () => {
  tmp = tempDir();
  pkb = await startPkbStandin();
  pkb.addPatient(ANN);
  writeFileSync(join(tmp.dir, "client-secret"), "test-secret\n", { mode: 0o600 });
  configFile = join(tmp.dir, "config.json");
  writeFileSync(
    configFile,
    JSON.stringify({
      hub: { id: "h", dataDir: join(tmp.dir, "data") },
      patients: [{ key: "p1", route: "pkb-rest", nhsNumber: "9434765919" }],
      routes: {
        pkbRest: {
          baseUrl: pkb.url,
          clientId: "pkb-hub-test",
          clientSecretFile: join(tmp.dir, "client-secret"),
          redirectUri: `http://127.0.0.1:${port}/callback`,
          deviceAuthorizationPath: "/apiDeviceAuthorization.action",
        },
      },
    }),
    { mode: 0o600 },
  );
});
afterEach(async () => {
  await pkb.stop();
  tmp.cleanup();
});

/** Runs `pkb-hub link`, playing the patient's browser on whatever address it prints. */
async function link(mode: string, patient: (url: URL, code?: string) => Promise<void>) {
  const out: string[] = [];
  const err: string[] = [];
  let code: string | undefined;
  const status = await runCli(["link", "p1", "--config", configFile, "--mode", mode, "--timeout-sec", "20"], {
    out: (line) => {
      out.push(line);
      const userCode = /enter the code: (\S+)/.exec(line)?.[1];
      if (userCode) code = userCode;
      if (line.startsWith(pkb.url)) setTimeout(() => void patient(new URL(line), code), 50);
    },
    err: (line) => err.push(line),
    env: {},
  });
  return { status, out: out.join("\n"), err: err.join("\n") };
}

describe("pkb-hub link", () => {
  it("loopback: prints the address and a QR code, takes the callback, stores the link", async () => {
    const r = await link("loopback", async (url) => {
      await fetch(await approveAs(url, "pkb-ann"));
    });
    expect(r.err).toBe("");
    expect(r.status).toBe(0);
    expect(r.out).toContain("/apiAuthorize.action?");
    expect(r.out).toMatch(/[▄▀█]/); // the terminal QR code
    expect(r.out).toContain("linked patient p1 (PKB account pkb-ann)");
    expect(r.out).not.toContain("9434765919");
    expect(tokenStore(join(tmp.dir, "data")).state("p1")).toBe("linked");
  });

  it("device: shows the code; the patient approves elsewhere", async () => {
    const r = await link("device", async (url, code) => {
      await approveDeviceAs(url, code ?? "", "pkb-ann");
    });
    expect(r.err).toBe("");
    expect(r.status).toBe(0);
    expect(tokenStore(join(tmp.dir, "data")).state("p1")).toBe("linked");
  }, 20_000);

  it("loopback: a patient who denies gives LINK_DENIED and exit 1", async () => {
    const r = await link("loopback", async (url) => {
      await fetch(await approveAs(url, "pkb-ann", "deny"));
    });
    expect(r.status).toBe(1);
    expect(r.err).toContain("LINK_DENIED");
    expect(tokenStore(join(tmp.dir, "data")).state("p1")).toBe("unlinked");
  });

  it("an unknown mode is a usage error", async () => {
    const r = await link("carrier-pigeon", async () => {});
    expect(r.status).toBe(2);
  });
});
