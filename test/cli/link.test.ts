import { writeFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/cli.js";
import { tokenStore } from "../../src/forward/pkb-rest/route.js";
import { approveAs } from "../standin/pkb-browser.js";
import { type RestFixture, startRestFixture } from "../support/pkb-rest.js";
import { loopbackPort } from "../support/ports.js";

let f: RestFixture;
let configFile: string;
const port = loopbackPort();

beforeEach(async () => {
  f = await startRestFixture({ route: { redirectUri: `http://127.0.0.1:${port}/callback` } });
  configFile = f.writeConfig();
});
afterEach(async () => {
  await f.close();
});

async function cli(args: string[], onLine: (line: string) => void = () => {}) {
  const out: string[] = [];
  const err: string[] = [];
  const status = await runCli(args, {
    out: (l) => {
      out.push(l);
      onLine(l);
    },
    err: (l) => err.push(l),
    env: {},
  });
  return { status, out: out.join("\n"), err: err.join("\n") };
}

const authorizeLine = (out: string) =>
  out.split("\n").find((l) => l.startsWith(f.pkb.url) && l.includes("/apiAuthorize.action?"));

describe("pkb-hub link from the field", () => {
  it("loopback shows no QR code (a phone cannot reach the hub's 127.0.0.1) but the ssh -L way from a laptop", async () => {
    const r = await cli(["link", "p1", "--config", configFile, "--timeout-sec", "20"], (line) => {
      if (line.startsWith(f.pkb.url))
        setTimeout(() => void approveAs(new URL(line), "pkb-ann").then((u) => fetch(u)), 50);
    });
    expect(r.err).toBe("");
    expect(r.status).toBe(0);
    expect(r.out).not.toMatch(/[▄▀█]/);
    expect(r.out).toContain(`  ssh -L ${port}:127.0.0.1:${port} <user>@<hub>`);
    expect(tokenStore(f.dataDir).state("p1")).toBe("linked");
  });

  it("paste mode without a terminal: the first run prints the address and the next command, the second takes --redirect-url", async () => {
    const first = await cli(["link", "p1", "--config", configFile, "--mode", "paste"]);
    expect(first.err).toBe("");
    expect(first.status).toBe(0);
    expect(first.out).not.toMatch(/[▄▀█]/);
    expect(first.out).toContain(`  pkb-hub link p1 --config ${configFile} --redirect-url '<the address>'`);
    expect(tokenStore(f.dataDir).state("p1")).toBe("unlinked");
    const url = authorizeLine(first.out);
    expect(url).toBeDefined();
    const back = await approveAs(new URL(url as string), "pkb-ann");
    const second = await cli(["link", "p1", "--config", configFile, "--redirect-url", back.href]);
    expect(second.err).toBe("");
    expect(second.status).toBe(0);
    expect(second.out).toContain("linked patient p1 (PKB account pkb-ann)");
    expect(tokenStore(f.dataDir).state("p1")).toBe("linked");
  });

  it("paste mode in two steps with --code", async () => {
    const first = await cli(["link", "p1", "--config", configFile, "--mode", "paste"]);
    const back = await approveAs(new URL(authorizeLine(first.out) as string), "pkb-ann");
    const code = back.searchParams.get("code") ?? "";
    expect(code).not.toBe("");
    const second = await cli(["link", "p1", "--config", configFile, "--code", code]);
    expect(second.status).toBe(0);
    expect(tokenStore(f.dataDir).state("p1")).toBe("linked");
  });

  it("a --redirect-url with no link waiting says how to start one", async () => {
    const r = await cli([
      "link",
      "p1",
      "--config",
      configFile,
      "--redirect-url",
      `http://127.0.0.1:${port}/callback?code=x&state=y`,
    ]);
    expect(r.status).toBe(2);
    expect(r.err).toContain("no link is waiting for patient p1: start one with pkb-hub link p1 --mode paste");
  });

  it("wrong client credentials are refused before the patient is shown any address", async () => {
    writeFileSync(f.secretFile, "not-the-secret\n", { mode: 0o600 });
    const r = await cli(["link", "p1", "--config", configFile, "--mode", "paste"]);
    expect(r.status).toBe(1);
    expect(r.err).toContain("AUTH_FAILED: PKB refused this hub's client credentials (invalid_client)");
    expect(r.out).not.toContain("/apiAuthorize.action?");
  });

  it("an unreachable PKB is refused before the patient is shown any address", async () => {
    f.setRoute({ baseUrl: "http://127.0.0.1:9" });
    configFile = f.writeConfig();
    const r = await cli(["link", "p1", "--config", configFile, "--mode", "paste"]);
    expect(r.status).toBe(1);
    expect(r.err).toContain("NETWORK: PKB at http://127.0.0.1:9 cannot be reached (ECONNREFUSED");
    expect(r.out).toBe("");
  });
});
