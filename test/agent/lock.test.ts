import { spawn } from "node:child_process";
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/agent/agent.js";
import { acquireLock } from "../../src/agent/lock.js";
import { parseConfig } from "../../src/config/load.js";
import { bootId, FakeClock } from "../../src/core/clock.js";
import { silentLogger } from "../../src/core/log.js";
import { tempDir } from "../support/tmp.js";

const CHILD = join(import.meta.dirname, "../../dist/test/support/race-child.js");

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

const make = () =>
  new Agent({
    config: parseConfig({ hub: { id: "h1", dataDir: join(tmp.dir, "data") } }),
    logger: silentLogger(),
    clock: new FakeClock(),
  });

describe("agent", () => {
  it("one agent per data directory: a second one refuses to start, the lock goes with stop()", async () => {
    const first = make();
    await first.start();
    expect(() => make()).toThrow(expect.objectContaining({ code: "USAGE" }));
    await first.stop();
    const second = make();
    await second.start();
    await second.stop();
  });

  it("takes over the stale lock of a crashed agent", async () => {
    const first = make();
    await first.stop();
    writeFileSync(join(tmp.dir, "data", "agent.lock"), "999999999 some-earlier-boot\n");
    const next = make();
    await next.stop();
    writeFileSync(join(tmp.dir, "data", "agent.lock"), `999999999 ${bootId()}\n`);
    const afterCrash = make();
    await afterCrash.stop();
  });

  it("a lock stays held while its process lives (even after a garbage collection) and is free at once after a SIGKILL", async () => {
    const dir = join(tmp.dir, "killed");
    const child = spawn(process.execPath, ["--expose-gc", CHILD, "hold", dir], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise<void>((resolve) => child.stdout.on("data", () => resolve()));
    expect(() => acquireLock(dir)).toThrow(/another agent \(pid \d+\) is running/);
    const exited = new Promise((resolve) => child.on("exit", resolve));
    child.kill("SIGKILL");
    await exited;
    const release = acquireLock(dir);
    expect(() => acquireLock(dir)).toThrow(expect.objectContaining({ code: "USAGE" }));
    for (const f of ["agent.lock", "agent.lock.db"]) expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600);
    release();
    acquireLock(dir)();
  });

  it("an agent starting while another starter reads the lock file for a moment waits for it and runs, never refuses for it", async () => {
    const dir = join(tmp.dir, "busy");
    acquireLock(dir)(); // the lock file exists, nobody holds it
    const reader = spawn(process.execPath, [CHILD, "shared", dir, "150"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise<void>((resolve) => reader.stdout.on("data", () => resolve()));
    const exited = new Promise((resolve) => reader.on("exit", resolve));
    const release = acquireLock(dir); // SQLITE_BUSY for ~150 ms: not another agent
    expect(statSync(join(dir, "agent.lock")).isFile()).toBe(true);
    release();
    await exited;
  });
});
