import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import type { HubBuffer } from "../../src/buffer/buffer.js";
import type { FakeClock } from "../../src/core/clock.js";
import { bpReading, makeBuffer } from "../support/buffer.js";
import { tempDirPerTest } from "../support/per-test.js";
import { mountSmallFs } from "../support/small-fs.js";

let buffer: HubBuffer | undefined;
let clock: FakeClock;
const tmp = tempDirPerTest(() => {
  buffer?.close();
  buffer = undefined;
});

function deliverAll(b: HubBuffer): number {
  const lease = b.outbox.claim("pkb-rest", 100_000);
  b.outbox.complete(
    lease.token,
    lease.rows.map((r) => r.id),
    { kind: "delivered" },
  );
  return lease.rows.length;
}

describe("retention", () => {
  it("prunes delivered rows after the retention window, never unsent ones, and remembers their keys", async () => {
    ({ buffer, clock } = makeBuffer(tmp.dir, { retentionMs: 1000 }));
    const delivered = bpReading(clock);
    await buffer.ingest([delivered]);
    deliverAll(buffer);
    await buffer.ingest([bpReading(clock)]);
    clock.advance(2000);
    expect((await buffer.housekeeping()).pruned).toBe(1);
    expect(buffer.stats().byState).toMatchObject({ delivered: 0, pending: 1 });
    // The device re-sends the old record: still recognised as a duplicate.
    expect(await buffer.ingest([delivered])).toMatchObject({ stored: 0, duplicates: 1 });
  });
});

describe("size cap", () => {
  it("prunes delivered data first, then refuses new readings loudly when only unsent data is left", async () => {
    const alerts: string[] = [];
    ({ buffer, clock } = makeBuffer(tmp.dir, {
      maxSizeBytes: 400 * 1024,
      onAlert: (a, active) => alerts.push(`${active ? "+" : "-"}${a.code}`),
    }));
    const stored: string[] = [];
    let refused: unknown;
    for (let i = 0; i < 5000 && !refused; i++) {
      // Half the data is for a route that gets delivered (prunable), half for one that is down.
      const patient = i % 2 === 0 ? "p1" : "hl7-down";
      const batch = Array.from({ length: 20 }, () => bpReading(clock, undefined, patient));
      try {
        await buffer.ingest(batch);
        stored.push(...batch.map((r) => r.key));
        deliverAll(buffer);
      } catch (err) {
        refused = err;
      }
    }
    expect(refused).toMatchObject({ code: "BUFFER_FULL" });
    expect(alerts).toContain("+BUFFER_FULL");
    const stats = buffer.stats();
    expect(stats.byState.delivered).toBe(0); // delivered data was pruned before refusing
    expect(stats.alerts.map((a) => a.code)).toContain("BUFFER_FULL");
    // Every reading acknowledged as stored is still there and unsent.
    const keys = new Set(
      buffer.db.prepare("SELECT key FROM readings WHERE body IS NOT NULL").pluck().all() as string[],
    );
    const undeliveredStored = stats.unsent;
    expect(undeliveredStored).toBe(keys.size);
    // Delivering frees room: readings are accepted again and the alert clears.
    const lease = buffer.outbox.claim("hl7", 100_000);
    buffer.outbox.complete(
      lease.token,
      lease.rows.map((r) => r.id),
      { kind: "delivered" },
    );
    await expect(buffer.ingest([bpReading(clock)])).resolves.toMatchObject({ stored: 1 });
    expect(alerts).toContain("-BUFFER_FULL");
    expect(stored.length).toBeGreaterThan(100);
  });
});

describe("size cap counts the WAL", () => {
  it("the buffer's files on disk (database, WAL, shared memory) stay within the size cap under sustained ingest", async () => {
    const cap = 400 * 1024;
    ({ buffer, clock } = makeBuffer(tmp.dir, { maxSizeBytes: cap }));
    const file = join(tmp.dir, "buffer.db");
    const onDisk = () =>
      ["", "-wal", "-shm"].reduce(
        (n, s) => n + (statSync(file + s, { throwIfNoEntry: false })?.size ?? 0),
        0,
      );
    let most = 0;
    for (let i = 0; i < 120; i++) {
      await buffer.ingest(Array.from({ length: 20 }, () => bpReading(clock)));
      deliverAll(buffer);
      most = Math.max(most, onDisk());
    }
    // The cap is checked before each batch is written, so one batch and its WAL may go past it.
    expect(most).toBeLessThanOrEqual(cap * 1.25);
    expect(buffer.stats().usedBytes).toBeGreaterThanOrEqual(
      statSync(`${file}-wal`).size + statSync(`${file}-shm`).size,
    );
  });
});

describe("disk full", () => {
  // A real 1 MiB tmpfs (root may mount one; elsewhere this test is skipped and says so).
  it("on a real full filesystem acknowledged readings survive, delivery continues, and ingest recovers when space returns", async (ctx) => {
    const fs = mountSmallFs(1024 * 1024);
    if (!fs) return ctx.skip("mounting a tmpfs is not permitted here (needs root)");
    let b: HubBuffer | undefined;
    try {
      const filler = join(fs.dir, "filler");
      writeFileSync(filler, Buffer.alloc(256 * 1024, 1));
      const alerts: string[] = [];
      const made = makeBuffer(fs.dir, {
        reserveBytes: 96 * 1024,
        onAlert: (a, active) => alerts.push(`${active ? "+" : "-"}${a.code}`),
      });
      b = made.buffer;
      const c = made.clock;
      const acked: string[] = [];
      let refusedInARow = 0;
      for (let i = 0; i < 2000 && refusedInARow < 3; i++) {
        const batch = Array.from({ length: 10 }, () => bpReading(c));
        try {
          await b.ingest(batch);
          acked.push(...batch.map((r) => r.key));
          refusedInARow = 0;
        } catch (err) {
          expect(err).toMatchObject({ code: "DISK_FULL" });
          refusedInARow++;
        }
      }
      expect(refusedInARow).toBe(3);
      expect(acked.length).toBeGreaterThan(100);
      expect(alerts).toContain("+DISK_FULL");
      // Delivery keeps working on the full disk: claims and completions succeed.
      let delivered = 0;
      for (let round = 0; round < 5; round++) {
        const lease = b.outbox.claim("pkb-rest", 40);
        expect(lease.rows).toHaveLength(40);
        expect(
          b.outbox.complete(
            lease.token,
            lease.rows.map((r) => r.id),
            { kind: "delivered" },
          ),
        ).toBe(40);
        delivered += 40;
      }
      expect(b.stats().byState.delivered).toBe(delivered);
      // Space returns: ingest resumes, the alert clears, the reserve is back.
      rmSync(filler);
      const after = bpReading(c);
      await b.ingest([after]);
      acked.push(after.key);
      expect(alerts.at(-1)).toBe("-DISK_FULL");
      expect(statSync(join(fs.dir, "buffer.db.reserve")).size).toBe(96 * 1024);
      // Nothing acknowledged was lost, and each is delivered exactly once.
      const present = b.db
        .prepare(
          "SELECT count(*) FROM readings r JOIN outbox o ON o.reading_id = r.id WHERE r.body IS NOT NULL AND r.key IN (SELECT value FROM json_each(?))",
        )
        .pluck();
      expect(present.get(JSON.stringify(acked))).toBe(acked.length);
      expect(deliverAll(b)).toBe(acked.length - delivered);
      expect(b.db.pragma("integrity_check", { simple: true })).toBe("ok");
    } finally {
      b?.close();
      fs.cleanup();
    }
  });

  it("SQLITE_FULL refuses the readings with an alert, loses nothing, and recovers when space returns", async () => {
    const alerts: string[] = [];
    ({ buffer, clock } = makeBuffer(tmp.dir, {
      onAlert: (a, active) => alerts.push(`${active ? "+" : "-"}${a.code}`),
    }));
    const before = Array.from({ length: 10 }, () => bpReading(clock));
    await buffer.ingest(before);
    // Make the "disk" full: SQLite itself reports SQLITE_FULL when the file may not grow.
    const pages = buffer.db.pragma("page_count", { simple: true }) as number;
    buffer.db.pragma(`max_page_count = ${pages}`);
    let refused = 0;
    for (let i = 0; i < 200; i++) {
      try {
        await buffer.ingest(Array.from({ length: 50 }, () => bpReading(clock)));
      } catch (err) {
        expect(err).toMatchObject({ code: "DISK_FULL" });
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(0);
    expect(alerts).toContain("+DISK_FULL");
    expect(buffer.activeAlerts().map((a) => a.code)).toContain("DISK_FULL");
    // Space returns.
    buffer.db.pragma("max_page_count = 1073741823");
    const after = bpReading(clock);
    await expect(buffer.ingest([after])).resolves.toMatchObject({ stored: 1 });
    expect(alerts).toContain("-DISK_FULL");
    const present = buffer.db
      .prepare("SELECT count(*) FROM readings WHERE key IN (SELECT value FROM json_each(?))")
      .pluck();
    expect(present.get(JSON.stringify([...before, after].map((r) => r.key)))).toBe(11);
    expect(buffer.db.pragma("integrity_check", { simple: true })).toBe("ok");
  });
});

describe("corrupt database file", () => {
  it("moves a file that is not a database aside (kept), raises an alert and starts fresh", async () => {
    writeFileSync(join(tmp.dir, "buffer.db"), Buffer.alloc(8192, 0x5a));
    ({ buffer, clock } = makeBuffer(tmp.dir));
    const aside = readdirSync(tmp.dir).filter((f) => f.startsWith("buffer.db.corrupt-"));
    expect(aside).toHaveLength(1);
    expect(readFileSync(join(tmp.dir, aside[0] as string))[0]).toBe(0x5a);
    expect(buffer.activeAlerts().map((a) => a.code)).toEqual(["BUFFER_CORRUPT"]);
    await expect(buffer.ingest([bpReading(clock)])).resolves.toMatchObject({ stored: 1 });
  });

  it("detects damaged pages with quick_check, moves the file aside and salvages only intact readings", async () => {
    ({ buffer, clock } = makeBuffer(tmp.dir));
    const sent = new Map<string, string>();
    for (let i = 0; i < 20; i++) {
      const batch = Array.from({ length: 50 }, () => bpReading(clock));
      for (const r of batch) sent.set(r.key, JSON.stringify(r));
      await buffer.ingest(batch);
    }
    buffer.db.pragma("wal_checkpoint(TRUNCATE)");
    // The schema's own pages are spared: without a schema nothing can be read (the not-a-database case).
    const schemaPages = new Set(
      buffer.db.prepare("SELECT pageno FROM dbstat WHERE name = 'sqlite_schema'").pluck().all() as number[],
    );
    buffer.close();
    buffer = undefined;
    // Scribble over every other page (index and table pages alike), leaving the header intact.
    const file = join(tmp.dir, "buffer.db");
    const bytes = readFileSync(file);
    for (let off = 4096 * 3; off < bytes.length; off += 4096 * 2) {
      if (!schemaPages.has(off / 4096 + 1)) bytes.fill(0xa5, off + 8, off + 2048);
    }
    writeFileSync(file, bytes);
    const probe = new Database(file);
    let check: unknown;
    try {
      check = probe.pragma("quick_check", { simple: true });
    } catch (err) {
      check = (err as { code?: unknown }).code; // the damage reached the schema itself: SQLITE_CORRUPT
    } finally {
      probe.close();
    }
    expect(check).not.toBe("ok");
    ({ buffer, clock } = makeBuffer(tmp.dir));
    expect(buffer.activeAlerts()[0]?.code).toBe("BUFFER_CORRUPT");
    expect(readdirSync(tmp.dir).some((f) => f.startsWith("buffer.db.corrupt-"))).toBe(true);
    const salvaged = buffer.db
      .prepare(
        "SELECT r.key, r.body, o.state FROM readings r JOIN outbox o ON o.reading_id = r.id WHERE r.body IS NOT NULL",
      )
      .all() as Array<{ key: string; body: string; state: string }>;
    expect(salvaged.length).toBeGreaterThan(100);
    expect(salvaged.length).toBeLessThan(1000);
    // Whatever was salvaged is exactly what was stored (no half-read reading goes out), and waits
    // to be sent: pending, or ambiguous where its delivery record was on a damaged page.
    for (const row of salvaged) {
      expect(row.body).toBe(sent.get(row.key));
      expect(["pending", "ambiguous"]).toContain(row.state);
    }
    expect(existsSync(file)).toBe(true);
  });
});
