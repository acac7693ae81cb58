import { spawn, spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { tempDir } from "../support/tmp.js";

const CLI = join(import.meta.dirname, "../../dist/src/cli/main.js");
const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe("pkb-hub run", () => {
  it("starts, and stops cleanly on SIGTERM (lock released)", async () => {
    const dataDir = join(tmp.dir, "ok");
    const file = join(tmp.dir, "ok.yaml");
    writeFileSync(
      file,
      `hub: { id: h1, dataDir: ${dataDir} }\nclock: { mode: assume-synced }\nlog: { level: warn }\n`,
      { mode: 0o600 },
    );
    const child = spawn(process.execPath, [CLI, "run", "--config", file], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    await new Promise<void>((resolve) =>
      child.stdout.on("data", (c: Buffer) => c.toString().includes("running") && resolve()),
    );
    expect(existsSync(join(dataDir, "agent.lock"))).toBe(true);
    child.kill("SIGTERM");
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code).toBe(0);
    expect(existsSync(join(dataDir, "agent.lock"))).toBe(false);
  });

  it("an unreadable secret stops start-up with a clear error, not a stack trace", () => {
    const file = join(tmp.dir, "nosecret.yaml");
    writeFileSync(
      file,
      [
        `hub: { id: h2, dataDir: ${join(tmp.dir, "bad")} }`,
        "patients: [{ key: p1, route: pkb-rest }]",
        `routes: { pkbRest: { baseUrl: "https://pkb.invalid", clientId: c, clientSecretFile: ${join(tmp.dir, "missing")} } }`,
      ].join("\n"),
      { mode: 0o600 },
    );
    const r = spawnSync(process.execPath, [CLI, "run", "--config", file], {
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("SECRET_UNREADABLE");
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(tmp.dir, "bad", "agent.lock"))).toBe(false);
  });
});
