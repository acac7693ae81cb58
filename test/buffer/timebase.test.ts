import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Db, migrate } from "../../src/buffer/db.js";
import { BufferTimebase } from "../../src/buffer/timebase.js";
import { FakeClock } from "../../src/core/clock.js";

let db: Db;
beforeEach(() => {
  db = new Database(":memory:");
  migrate(db);
});
afterEach(() => db.close());

const stored = () =>
  JSON.parse(db.prepare("SELECT v FROM kv WHERE k = 'buffer.timebase'").pluck().get() as string) as Record<
    string,
    unknown
  >;
const put = (v: string) =>
  db
    .prepare(
      "INSERT INTO kv (k, v, updated_ms) VALUES ('buffer.timebase', ?, 0) ON CONFLICT(k) DO UPDATE SET v = excluded.v",
    )
    .run(v);

describe("buffer timebase", () => {
  it("a buffer's first timebase starts at the wall time and follows the monotonic clock only", () => {
    const clock = new FakeClock(1_000_000_000, true, 5_000, "boot-1");
    const t = new BufferTimebase(db, clock);
    expect(t.nowMs()).toBe(1_000_000_000);
    clock.monoMs += 250;
    clock.wallMs -= 3_600_000;
    expect(t.nowMs()).toBe(1_000_000_250);
    expect(stored()).toEqual({
      bootId: "boot-1",
      offsetMs: 999_995_000,
      lastMs: 1_000_000_000,
      lastWallMs: 1_000_000_000,
    });
  });

  it("checkpoint records the current (buffer time, wall time) pair for the next boot", () => {
    const clock = new FakeClock(1_000_000_000, true, 5_000, "boot-1");
    const t = new BufferTimebase(db, clock);
    clock.monoMs += 10_000;
    clock.wallMs += 7_000;
    t.checkpoint();
    expect(stored()).toEqual({
      bootId: "boot-1",
      offsetMs: 999_995_000,
      lastMs: 1_000_010_000,
      lastWallMs: 1_000_007_000,
    });
  });

  it("the same boot reuses its offset whatever the wall clock says; a new boot bridges by the wall-clock gap, never backwards", () => {
    put(JSON.stringify({ bootId: "boot-1", offsetMs: 42, lastMs: 500_000, lastWallMs: 900_000 }));
    expect(new BufferTimebase(db, new FakeClock(5, true, 1_000, "boot-1")).nowMs()).toBe(1_042);
    // A new boot 60 s (wall) later, monotonic time restarted at 2 s.
    const later = new BufferTimebase(db, new FakeClock(960_000, true, 2_000, "boot-2"));
    expect(later.nowMs()).toBe(560_000);
    expect(stored()).toEqual({ bootId: "boot-2", offsetMs: 558_000, lastMs: 560_000, lastWallMs: 960_000 });
    // A third boot whose wall clock is behind the recorded one: continues from the last point.
    const behind = new BufferTimebase(db, new FakeClock(100, true, 3_000, "boot-3"));
    expect(behind.nowMs()).toBe(560_000);
  });

  it("an unreadable or incomplete record is ignored: the timebase starts again at the wall time", () => {
    for (const bad of [
      "not json",
      "null",
      JSON.stringify({ bootId: "boot-9", offsetMs: 1, lastMs: 2 }),
      JSON.stringify({ bootId: "boot-9", offsetMs: 1, lastMs: 2, lastWallMs: "3" }),
      JSON.stringify({ bootId: "boot-9", offsetMs: 1, lastMs: Number.NaN, lastWallMs: 3 }),
      JSON.stringify({ bootId: 9, offsetMs: 1, lastMs: 2, lastWallMs: 3 }),
      JSON.stringify({ offsetMs: 1, lastMs: 2, lastWallMs: 3 }),
    ]) {
      put(bad);
      // With a readable record of this very boot the stored offset (1) would be used.
      const t = new BufferTimebase(db, new FakeClock(777_000, true, 7_000, "boot-9"));
      expect(t.nowMs(), bad).toBe(777_000);
    }
    put(JSON.stringify({ bootId: "boot-9", offsetMs: 1, lastMs: 2, lastWallMs: 3 }));
    expect(new BufferTimebase(db, new FakeClock(777_000, true, 7_000, "boot-9")).nowMs()).toBe(7_001);
  });

  it("a buffer it cannot write to (full disk) still gets a monotonic timebase, and checkpoint never throws", () => {
    db.exec(`CREATE TEMP TRIGGER full BEFORE INSERT ON main.kv BEGIN SELECT RAISE(ABORT, 'disk full'); END;
             CREATE TEMP TRIGGER full2 BEFORE UPDATE ON main.kv BEGIN SELECT RAISE(ABORT, 'disk full'); END;`);
    const clock = new FakeClock(2_000_000, true, 1_000, "boot-1");
    const t = new BufferTimebase(db, clock);
    expect(t.nowMs()).toBe(2_000_000);
    clock.monoMs += 5;
    clock.wallMs += 999;
    expect(t.nowMs()).toBe(2_000_005);
    expect(() => t.checkpoint()).not.toThrow();
    expect(db.prepare("SELECT count(*) FROM kv").pluck().get()).toBe(0);
  });
});
