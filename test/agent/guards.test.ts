import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/agent/agent.js";
import { parseConfig } from "../../src/config/load.js";
import { FakeClock, SystemClock } from "../../src/core/clock.js";
import { createLogger } from "../../src/core/log.js";
import { bpReading, outboxStates } from "../support/buffer.js";
import { tempDir } from "../support/tmp.js";
import { until } from "../support/wait.js";

let tmp: ReturnType<typeof tempDir>;
let agent: Agent | undefined;
const rejections: unknown[] = [];
const onRejection = (reason: unknown) => rejections.push(reason);

beforeEach(() => {
  tmp = tempDir();
  rejections.length = 0;
  process.on("unhandledRejection", onRejection);
});
afterEach(async () => {
  await agent?.stop();
  agent = undefined;
  process.off("unhandledRejection", onRejection);
  tmp.cleanup();
});

/** An agent on the system clock (synchronised when `synced.now` says so), logging into `lines`. */
function makeAgent(synced: { now: boolean }, lines: Array<Record<string, unknown>>) {
  const destination = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  const secretFile = join(tmp.dir, "secret");
  writeFileSync(secretFile, "s", { mode: 0o600 });
  return new Agent({
    config: parseConfig({
      hub: { id: "h1", dataDir: join(tmp.dir, "data") },
      clock: { mode: "auto", checkIntervalSec: 1 },
      // A patient who is not linked yet: the route sends nothing, rows stay where the test puts them.
      patients: [{ key: "p1", route: "pkb-rest" }],
      routes: { pkbRest: { baseUrl: "http://127.0.0.1:9", clientId: "c", clientSecretFile: secretFile } },
    }),
    logger: createLogger({ level: "info", destination }),
    syncProbe: async () => synced.now,
    housekeepingMs: 100,
  });
}

/** Makes every release of a held row fail inside SQLite (a real SQLite error, raised by a trigger). */
function breakRelease(a: Agent): void {
  a.ctx.buffer.db.exec(
    `CREATE TEMP TRIGGER injected BEFORE UPDATE OF state ON main.outbox WHEN NEW.state = 'pending'
     BEGIN SELECT RAISE(ABORT, 'injected storage fault'); END`,
  );
}

describe("timer and callback paths into SQLite are guarded", () => {
  it("an SQLite error while releasing held readings on clock sync is logged, never an unhandled rejection; housekeeping releases them later", async () => {
    const synced = { now: false };
    const lines: Array<Record<string, unknown>> = [];
    agent = makeAgent(synced, lines);
    const a = agent;
    await a.start();
    const unsynced = new FakeClock(Date.now(), false);
    await a.ctx.buffer.ingest([bpReading(unsynced)]);
    expect(outboxStates(a.ctx.buffer)).toEqual([{ id: 1, state: "held" }]);
    breakRelease(a);
    synced.now = true; // the next clock check (1 s) sees the sync and calls releaseHeld
    await until(
      () => lines.some((l) => l.msg === "releasing held readings failed; housekeeping will retry"),
      5000,
    );
    await until(() => lines.some((l) => l.msg === "housekeeping failed"), 5000);
    const failures = lines.filter((l) => String(l.msg).includes("failed"));
    expect(failures.every((l) => l.code === "SQLITE_CONSTRAINT_TRIGGER")).toBe(true);
    expect(JSON.stringify(failures)).not.toContain("injected storage fault");
    expect(outboxStates(a.ctx.buffer)).toEqual([{ id: 1, state: "held" }]);
    // The fault goes away: the next housekeeping pass releases the reading.
    a.ctx.buffer.db.exec("DROP TRIGGER temp.injected");
    await until(() => outboxStates(a.ctx.buffer)[0]?.state !== "held", 5000);
    expect(outboxStates(a.ctx.buffer)[0]?.state).toMatch(/^(pending|leased)$/);
    expect(rejections).toEqual([]);
  });

  it("an SQLite error in housekeeping (reclaim, prune) is logged with its code and the timer keeps running", async () => {
    const lines: Array<Record<string, unknown>> = [];
    agent = makeAgent({ now: true }, lines);
    const a = agent;
    await a.start();
    a.ctx.buffer.db.exec(
      `CREATE TEMP TRIGGER injected BEFORE UPDATE ON main.kv BEGIN SELECT RAISE(ABORT, 'injected'); END;
       CREATE TEMP TRIGGER injected2 BEFORE INSERT ON main.kv BEGIN SELECT RAISE(ABORT, 'injected'); END;`,
    );
    // Housekeeping's own writes still fail loudly where they matter: make the prune fail too.
    a.ctx.buffer.db.exec(
      `CREATE TEMP TRIGGER injected3 BEFORE DELETE ON main.outbox BEGIN SELECT RAISE(ABORT, 'injected'); END`,
    );
    await a.ctx.buffer.ingest([bpReading(new FakeClock(Date.now()))]);
    // Delivered long ago: the next housekeeping pass prunes it (and fails while the fault is there).
    a.ctx.buffer.db.prepare("UPDATE outbox SET state = 'delivered', done_ms = 0").run();
    await until(() => lines.filter((l) => l.msg === "housekeeping failed").length >= 2, 5000);
    a.ctx.buffer.db.exec("DROP TRIGGER temp.injected3");
    await until(() => outboxStates(a.ctx.buffer).length === 0, 5000);
    expect(rejections).toEqual([]);
  });
});

describe("the system clock's timer never rejects", () => {
  it("a failing probe counts as unsynchronised and a throwing sync listener is reported, not thrown", async () => {
    const reported: unknown[] = [];
    let probe: () => Promise<boolean> = async () => {
      throw new Error("timedatectl missing");
    };
    const clock = new SystemClock({
      mode: "auto",
      probe: () => probe(),
      onSyncChange: () => {
        throw Object.assign(new Error("database is locked"), { code: "SQLITE_BUSY" });
      },
      onListenerError: (err) => reported.push(err),
    });
    await expect(clock.refresh()).resolves.toBe(false);
    probe = async () => true;
    await expect(clock.refresh()).resolves.toBe(true);
    expect(reported).toEqual([expect.objectContaining({ code: "SQLITE_BUSY" })]);
  });
});
