import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import type { HubBuffer } from "../../src/buffer/buffer.js";
import type { FakeClock } from "../../src/core/clock.js";
import type { Reading } from "../../src/core/reading.js";
import { bpReading, makeBuffer } from "../support/buffer.js";
import { tempDirPerTest } from "../support/per-test.js";

let buffer: HubBuffer | undefined;
let clock: FakeClock;
const tmp = tempDirPerTest(() => {
  buffer?.close();
  buffer = undefined;
});

interface Page {
  name: string;
  pageno: number;
  pagetype: string;
  ncell: number;
}

interface Built {
  readings: Reading[];
  /** Pages in b-tree order (dbstat path order). */
  pages: Page[];
  pageSize: number;
  file: string;
}

/** 1000 readings: the first 200 delivered, the next 10 dead letters, the rest pending; then closed. */
async function build(): Promise<Built> {
  ({ buffer, clock } = makeBuffer(tmp.dir));
  const readings: Reading[] = [];
  for (let i = 0; i < 20; i++) {
    const batch = Array.from({ length: 50 }, () => bpReading(clock));
    readings.push(...batch);
    await buffer.ingest(batch);
  }
  const delivered = buffer.outbox.claim("pkb-rest", 200);
  buffer.outbox.complete(
    delivered.token,
    delivered.rows.map((r) => r.id),
    { kind: "delivered" },
  );
  const dead = buffer.outbox.claim("pkb-rest", 10);
  buffer.outbox.complete(
    dead.token,
    dead.rows.map((r) => r.id),
    { kind: "rejected", reason: "test rejection" },
  );
  const pages = buffer.db
    .prepare("SELECT name, pageno, pagetype, ncell FROM dbstat ORDER BY path")
    .all() as Page[];
  const pageSize = buffer.db.pragma("page_size", { simple: true }) as number;
  buffer.close();
  buffer = undefined;
  return { readings, pages, pageSize, file: join(tmp.dir, "buffer.db") };
}

/** Scribbles over one page of the file, leaving its first bytes (the page type) intact. */
function damage(b: Built, pageno: number): void {
  const bytes = readFileSync(b.file);
  const start = (pageno - 1) * b.pageSize;
  bytes.fill(0xa5, start + 8, start + b.pageSize / 2);
  writeFileSync(b.file, bytes);
}

/** The leaves of a table or index in key order, with the row ids each holds (ids are dense here). */
function leaves(b: Built, name: string): Array<{ pageno: number; firstId: number; lastId: number }> {
  let id = 0;
  return b.pages
    .filter((p) => p.name === name && p.pagetype === "leaf")
    .map((p) => {
      const firstId = id + 1;
      id += p.ncell;
      return { pageno: p.pageno, firstId, lastId: id };
    });
}

function reopen(): HubBuffer {
  ({ buffer, clock } = makeBuffer(tmp.dir, { clock }));
  return buffer;
}

const states = (b: HubBuffer) =>
  Object.fromEntries(
    (
      b.db.prepare("SELECT state, count(*) AS n FROM outbox GROUP BY state").all() as Array<{
        state: string;
        n: number;
      }>
    ).map((r) => [r.state, r.n]),
  );

function deliverEverything(b: HubBuffer): string[] {
  const lease = b.outbox.claim("pkb-rest", 100_000);
  expect(
    b.outbox.complete(
      lease.token,
      lease.rows.map((r) => r.id),
      { kind: "delivered" },
    ),
  ).toBe(lease.rows.length);
  return lease.rows.map((r) => (r.item.type === "reading" ? r.item.reading.key : ""));
}

function varint(bytes: Buffer, at: number): { value: number; next: number } {
  let value = 0;
  for (let i = 0; i < 9; i++) {
    const byte = bytes[at + i] as number;
    value = value * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) return { value, next: at + i + 1 };
  }
  throw new Error("varint too long");
}

/** Overwrites one byte inside the text of the first row on a table leaf page; returns that row's id. */
function garbleFirstRow(b: Built, pageno: number): number {
  const bytes = readFileSync(b.file);
  const page = (pageno - 1) * b.pageSize;
  const cell = page + bytes.readUInt16BE(page + 8);
  const length = varint(bytes, cell);
  const rowid = varint(bytes, length.next);
  // The body (JSON) is the long text near the end of the row; only created_ms follows it.
  bytes[rowid.next + length.value - 20] = 0x01;
  writeFileSync(b.file, bytes);
  return rowid.value;
}

/** Makes an outbox index leaf hold one entry fewer (REINDEX can repair that); returns the file's bytes. */
function dropIndexEntry(b: Built): Buffer {
  const leaf = leaves(b, "outbox_reading")[1] as { pageno: number };
  const bytes = readFileSync(b.file);
  const page = (leaf.pageno - 1) * b.pageSize;
  bytes.writeUInt16BE(bytes.readUInt16BE(page + 3) - 1, page + 3); // one cell fewer
  writeFileSync(b.file, bytes);
  return bytes;
}

describe("damaged buffer file", () => {
  it("a damaged index page loses nothing: every row is salvaged with its key, the old file kept, the alert raised", async () => {
    const b = await build();
    const index = leaves(b, "sqlite_autoindex_readings_1")[2];
    const ready = leaves(b, "outbox_ready")[1];
    damage(b, index?.pageno as number);
    damage(b, ready?.pageno as number);
    const probe = new Database(b.file);
    expect(probe.pragma("quick_check", { simple: true })).not.toBe("ok");
    probe.close();

    const again = reopen();
    expect(readdirSync(tmp.dir).filter((f) => /^buffer\.db\.corrupt-\d+$/.test(f))).toHaveLength(1);
    const alert = again.activeAlerts().find((a) => a.code === "BUFFER_CORRUPT");
    expect(alert?.message).toContain("salvaged 800 undelivered rows (0 re-queued as ambiguous");
    expect(states(again)).toEqual({ delivered: 200, dead: 10, pending: 790 });
    // Health counts agree with the rows (the damaged file's own counts are not trusted).
    expect(again.stats().byState).toMatchObject({ delivered: 200, dead: 10, pending: 790 });
    // Keys kept: a device re-sending any of the 1000 records is recognised, nothing is stored twice.
    expect(await again.ingest(b.readings)).toMatchObject({ stored: 0, duplicates: 1000 });
    // The pending ones are delivered, each once, with their bodies intact.
    const sent = deliverEverything(again);
    expect(sent).toEqual(b.readings.slice(210).map((r) => r.key));
    expect(again.db.pragma("integrity_check", { simple: true })).toBe("ok");
  });

  it("a damaged table page costs only the readings on it: the rest are salvaged and delivered once, the lost ones can be stored again", async () => {
    const b = await build();
    const leaf = leaves(b, "readings").find((l) => l.firstId > 400) as {
      pageno: number;
      firstId: number;
      lastId: number;
    };
    damage(b, leaf.pageno);
    const lost = b.readings.slice(leaf.firstId - 1, leaf.lastId);
    expect(lost.length).toBeGreaterThan(0);

    const again = reopen();
    expect(readdirSync(tmp.dir).some((f) => f.startsWith("buffer.db.corrupt-"))).toBe(true);
    const pending = 790 - lost.length;
    expect(states(again)).toEqual({ delivered: 200, dead: 10, pending });
    const alert = again.activeAlerts().find((a) => a.code === "BUFFER_CORRUPT");
    expect(alert?.message).toContain(`salvaged ${pending + 10} undelivered rows`);
    const lostKeys = new Set(lost.map((r) => r.key));
    const kept = b.readings.filter((r) => !lostKeys.has(r.key));
    const sent = deliverEverything(again);
    expect(sent).toEqual(kept.slice(210).map((r) => r.key));
    expect(await again.ingest(kept)).toMatchObject({ stored: 0, duplicates: kept.length });
    // The unreadable ones lost their key too: when the device sends them again they are stored.
    expect(await again.ingest(lost)).toMatchObject({ stored: lost.length, duplicates: 0 });
  });

  it("a damaged outbox page re-queues its readings as ambiguous (they may have been sent), never drops them", async () => {
    const b = await build();
    // The outbox leaf holding the 200th row straddles delivered and pending rows.
    const leaf = leaves(b, "outbox").find((l) => l.firstId <= 200 && l.lastId > 200) as {
      pageno: number;
      firstId: number;
      lastId: number;
    };
    damage(b, leaf.pageno);

    const again = reopen();
    const rows = again.db
      .prepare(
        "SELECT r.key, o.state, o.ambiguous, o.reason FROM readings r JOIN outbox o ON o.reading_id = r.id ORDER BY r.id",
      )
      .all() as Array<{ key: string; state: string; ambiguous: number; reason: string | null }>;
    // Every reading still has exactly one outbox row.
    expect(rows.map((r) => r.key)).toEqual(b.readings.map((r) => r.key));
    const rebuilt = rows.slice(leaf.firstId - 1, leaf.lastId);
    for (const r of rebuilt) {
      // Settled by a person (or reconciliation), never re-sent blindly.
      expect(r.state).toBe("ambiguous");
      expect(r.reason).toMatch(/may already have been delivered/);
    }
    expect(rows.slice(0, leaf.firstId - 1).every((r) => r.state === "delivered")).toBe(true);
    expect(rows.slice(leaf.lastId).every((r) => r.state !== "ambiguous")).toBe(true);
    const alert = again.activeAlerts().find((a) => a.code === "BUFFER_CORRUPT");
    expect(alert?.message).toContain(`(${rebuilt.length} re-queued as ambiguous`);
    expect(again.activeAlerts().find((a) => a.code === "AMBIGUOUS_DELIVERY")?.message).toMatch(
      new RegExp(`^${rebuilt.length} deliveries have an unknown outcome`),
    );
    expect(existsSync(join(tmp.dir, "buffer.db"))).toBe(true);
  });

  it("a reading whose stored text was garbled is not salvaged, and its key is freed so the device can send it again", async () => {
    const b = await build();
    const readingLeaves = leaves(b, "readings");
    const garbled = garbleFirstRow(b, (readingLeaves[60] as { pageno: number }).pageno);
    // Damage elsewhere makes the file fail its check (the garbled text alone passes it).
    damage(b, (leaves(b, "outbox_patient_open")[0] as { pageno: number }).pageno);
    const again = reopen();
    const keys = again.db.prepare("SELECT key FROM readings ORDER BY id").pluck().all() as string[];
    const lost = b.readings[garbled - 1] as Reading;
    expect(keys).toEqual(b.readings.filter((r) => r.key !== lost.key).map((r) => r.key));
    expect(again.activeAlerts().find((a) => a.code === "BUFFER_CORRUPT")?.message).toContain(
      "salvaged 799 undelivered rows",
    );
    expect(await again.ingest([lost])).toMatchObject({ stored: 1, duplicates: 0 });
  });

  it("an index page that lost an entry is rebuilt in place (REINDEX): nothing moved aside, nothing lost, the repair alerted", async () => {
    const b = await build();
    dropIndexEntry(b);
    const again = reopen();
    expect(readdirSync(tmp.dir).filter((f) => f.includes("corrupt"))).toEqual([]);
    expect(again.activeAlerts().map((a) => a.code)).toEqual(["BUFFER_REPAIRED"]);
    expect(states(again)).toEqual({ delivered: 200, dead: 10, pending: 790 });
    expect(again.db.pragma("integrity_check", { simple: true })).toBe("ok");
    expect(deliverEverything(again)).toEqual(b.readings.slice(210).map((r) => r.key));
  });

  it("a command (role tool) meeting a damaged index refuses and changes nothing: REINDEX and salvage stay the agent's", async () => {
    const b = await build();
    const bytes = dropIndexEntry(b);
    const files = readdirSync(tmp.dir).sort();
    expect(() => makeBuffer(tmp.dir, { clock, role: "tool" })).toThrow(
      expect.objectContaining({ code: "BUFFER_CORRUPT" }),
    );
    expect(readFileSync(b.file).equals(bytes)).toBe(true);
    expect(readdirSync(tmp.dir).sort()).toEqual(files);
    const agent = reopen();
    expect(agent.activeAlerts().map((a) => a.code)).toEqual(["BUFFER_REPAIRED"]);
    expect(states(agent)).toEqual({ delivered: 200, dead: 10, pending: 790 });
  });

  it("a command's buffer neither takes the disk reserve nor vacuums an older file", () => {
    const file = join(tmp.dir, "buffer.db");
    const old = new Database(file);
    old.pragma("auto_vacuum = NONE");
    old.exec("CREATE TABLE t (x)");
    old.close();
    buffer = makeBuffer(tmp.dir, { role: "tool" }).buffer;
    expect(existsSync(`${file}.reserve`)).toBe(false);
    expect(buffer.db.pragma("auto_vacuum", { simple: true })).toBe(0);
    buffer.close();
    buffer = makeBuffer(tmp.dir).buffer;
    expect(existsSync(`${file}.reserve`)).toBe(true);
    expect(buffer.db.pragma("auto_vacuum", { simple: true })).toBe(2);
  });
});
