import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/cli.js";
import { tokenStore } from "../../src/forward/pkb-rest/route.js";
import { approveAs, approveDeviceAs } from "../standin/pkb-browser.js";
import { type RestFixture, startRestFixture } from "../support/pkb-rest.js";
import { loopbackPort } from "../support/ports.js";

let f: RestFixture;
let pkb: RestFixture["pkb"];
let configFile: string;
const port = loopbackPort();

beforeEach(async () => {
  f = await startRestFixture({
    route: {
      redirectUri: `http://127.0.0.1:${port}/callback`,
      deviceAuthorizationPath: "/apiDeviceAuthorization.action",
    },
  });
  pkb = f.pkb;
  configFile = f.writeConfig();
});
afterEach(async () => {
  await f.close();
});

/** Runs `pkb-hub link`, playing the patient's browser on whatever address it prints. */
async function link(mode: string, patient: (url: URL, code?: string) => Promise<void>, extra: string[] = []) {
  const out: string[] = [];
  const err: string[] = [];
  let code: string | undefined;
  const args = ["link", "p1", "--config", configFile, "--mode", mode, "--timeout-sec", "20", ...extra];
  const status = await runCli(args, {
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
  it("loopback: prints the address (no QR code: a phone cannot reach the hub's loopback), takes the callback, stores the link", async () => {
    const r = await link("loopback", async (url) => {
      await fetch(await approveAs(url, "pkb-ann"));
    });
    expect(r.err).toBe("");
    expect(r.status).toBe(0);
    expect(r.out).toContain("/apiAuthorize.action?");
    expect(r.out).not.toMatch(/[▄▀█]/); // a QR code would send a phone to its own 127.0.0.1
    expect(r.out).toContain("linked patient p1 (PKB account pkb-ann)");
    expect(r.out).not.toContain("9434765919");
    expect(tokenStore(f.dataDir).state("p1")).toBe("linked");
  });

  it("device: shows the code and a QR code; the patient approves elsewhere", async () => {
    const r = await link("device", async (url, code) => {
      await approveDeviceAs(url, code ?? "", "pkb-ann");
    });
    expect(r.err).toBe("");
    expect(r.out).toMatch(/[▄▀█]/); // the device grant can be finished on a phone
    expect(r.status).toBe(0);
    expect(tokenStore(f.dataDir).state("p1")).toBe("linked");
  }, 20_000);

  it("loopback: a patient who denies gives LINK_DENIED and exit 1", async () => {
    const r = await link("loopback", async (url) => {
      await fetch(await approveAs(url, "pkb-ann", "deny"));
    });
    expect(r.status).toBe(1);
    expect(r.err).toContain("LINK_DENIED");
    expect(tokenStore(f.dataDir).state("p1")).toBe("unlinked");
  });

  it("an unknown mode is a usage error", async () => {
    const r = await link("carrier-pigeon", async () => {});
    expect(r.status).toBe(2);
  });

  it("a patient without an NHS number: exit 2 before the patient is asked; --accept-unverified links with a warning", async () => {
    f.config = { ...f.config, patients: [{ key: "p1", route: "pkb-rest" }] };
    configFile = f.writeConfig();
    const approve = async (url: URL) => {
      await fetch(await approveAs(url, "pkb-ann"));
    };
    const refused = await link("loopback", approve);
    expect(refused.status).toBe(2);
    expect(refused.err).toContain("has no NHS number in the configuration");
    expect(refused.out).not.toContain("/apiAuthorize.action?");
    expect(tokenStore(f.dataDir).state("p1")).toBe("unlinked");
    const r = await link("loopback", approve, ["--accept-unverified"]);
    expect(r.status).toBe(0);
    expect(r.err).toBe(
      "warning: patient p1 was linked WITHOUT an NHS number check (--accept-unverified): make sure PKB account pkb-ann is theirs",
    );
    expect(tokenStore(f.dataDir).get("p1")?.acceptedUnverified).toBe(true);
  });
});
