import { statSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { HubBuffer } from "../../src/buffer/buffer.js";
import { MIGRATIONS } from "../../src/buffer/migrations.js";
import type { FakeClock } from "../../src/core/clock.js";
import { bpReading, makeBuffer } from "../support/buffer.js";
import { tempDir } from "../support/tmp.js";

let tmp: ReturnType<typeof tempDir>;
let buffer: HubBuffer;
let clock: FakeClock;

beforeEach(() => {
  tmp = tempDir();
  ({ buffer, clock } = makeBuffer(join(tmp.dir, "data")));
});
afterEach(() => {
  buffer.close();
  tmp.cleanup();
});

describe("buffer: storage", () => {
  it("creates the directory 0700 and the database 0600, WAL with synchronous=FULL", () => {
    expect(statSync(join(tmp.dir, "data")).mode & 0o777).toBe(0o700);
    expect(statSync(join(tmp.dir, "data", "buffer.db")).mode & 0o777).toBe(0o600);
    expect(buffer.db.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(buffer.db.pragma("synchronous", { simple: true })).toBe(2);
    expect(buffer.db.pragma("user_version", { simple: true })).toBe(MIGRATIONS.length);
  });

  it("a reading is on disk, with its outbox row, when ingest resolves", async () => {
    const r = bpReading(clock);
    const result = await buffer.ingest([r]);
    expect(result).toMatchObject({ stored: 1, duplicates: 0 });
    const other = new Database(join(tmp.dir, "data", "buffer.db"), { readonly: true });
    const row = other
      .prepare("SELECT r.key, o.route, o.state FROM readings r JOIN outbox o ON o.reading_id = r.id")
      .get() as { key: string; route: string; state: string };
    other.close();
    expect(row).toEqual({ key: r.key, route: "pkb-rest", state: "pending" });
  });

  it("group commit: readings arriving together share one transaction", async () => {
    const before = buffer.commits;
    const results = await Promise.all(Array.from({ length: 50 }, () => buffer.ingest([bpReading(clock)])));
    expect(results.every((r) => r.stored === 1)).toBe(true);
    expect(buffer.commits - before).toBe(1);
    expect(buffer.stats().byState.pending).toBe(50);
  });

  it("counts duplicates by idempotency key instead of storing them", async () => {
    const r = bpReading(clock);
    await buffer.ingest([r]);
    const again = await buffer.ingest([r, { ...r }]);
    expect(again).toMatchObject({ stored: 0, duplicates: 2 });
    const stats = buffer.stats();
    expect(stats.byState.pending).toBe(1);
    expect(stats.duplicates).toBe(2);
  });

  it("refuses malformed readings and readings for unknown patients without losing the rest", async () => {
    await expect(buffer.ingest([{ ...bpReading(clock), components: [] }])).rejects.toMatchObject({
      code: "READING_INVALID",
    });
    const noRoute = makeBuffer(join(tmp.dir, "other"), { routeOf: () => undefined });
    await expect(noRoute.buffer.ingest([bpReading(clock)])).rejects.toMatchObject({
      code: "READING_INVALID",
    });
    noRoute.buffer.close();
    await buffer.ingest([bpReading(clock)]);
    expect(buffer.stats().byState.pending).toBe(1);
  });

  it("reopening runs no migration twice and keeps data", async () => {
    await buffer.ingest([bpReading(clock)]);
    buffer.close();
    ({ buffer } = makeBuffer(join(tmp.dir, "data"), { clock }));
    expect(buffer.stats().byState.pending).toBe(1);
  });
});

describe("buffer: held readings when the hub clock is not synchronised", () => {
  it("holds them, then re-times them from the monotonic clock when sync arrives", async () => {
    clock.synced = false;
    const r = bpReading(clock);
    expect(r.timeSource).toBe("hub-unsynced");
    await buffer.ingest([r]);
    expect(buffer.stats().byState.held).toBe(1);
    expect(buffer.outbox.claim("pkb-rest", 10).rows).toHaveLength(0);
    // The clock steps forward by a day when NTP syncs; 30 s of monotonic time passed.
    clock.monoMs += 30_000;
    clock.wallMs += 86_400_000 + 30_000;
    clock.synced = true;
    expect(await buffer.releaseHeld()).toEqual({ released: 1, unrecoverable: 0 });
    const lease = buffer.outbox.claim("pkb-rest", 10);
    const got = lease.rows[0]?.item;
    expect(got?.type).toBe("reading");
    if (got?.type !== "reading") return;
    expect(Date.parse(got.reading.measuredAt)).toBe(clock.wallMs - 30_000);
    expect(got.reading.timeSource).toBe("hub");
    expect(got.reading.flags).toContain("time-corrected-after-sync");
  });

  it("dead-letters held readings from an earlier boot instead of guessing their time", async () => {
    clock.synced = false;
    await buffer.ingest([bpReading(clock)]);
    buffer.close();
    const rebooted = makeBuffer(join(tmp.dir, "data"), {
      clock: Object.assign(Object.create(Object.getPrototypeOf(clock)), clock, {
        bootId: "boot-2",
        synced: true,
      }),
    });
    buffer = rebooted.buffer;
    expect(await buffer.releaseHeld()).toEqual({ released: 0, unrecoverable: 1 });
    expect(buffer.outbox.deadLetters()[0]?.reason).toMatch(/measurement time unknown/);
  });
});
