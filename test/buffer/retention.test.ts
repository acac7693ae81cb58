import { statSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Db, migrate, openDatabase } from "../../src/buffer/db.js";
import { pruneDelivered, pruneKeys, usedBytes } from "../../src/buffer/retention.js";
import { tempDir } from "../support/tmp.js";

let tmp: ReturnType<typeof tempDir>;
let db: Db;
beforeEach(() => {
  tmp = tempDir();
  db = openDatabase(join(tmp.dir, "buffer.db")).db;
});
afterEach(() => {
  if (db.open) db.close();
  tmp.cleanup();
});

let next = 0;
function reading(body: string | null = '{"v":1}'): number {
  next++;
  return Number(
    db
      .prepare(
        `INSERT INTO readings (key, patient, device_id, kind, measured_at, time_source, body, created_ms)
         VALUES (?, 'p1', 'd', 'bp', '2026-01-01T00:00:00Z', 'device', ?, 1)`,
      )
      .run(`k${next}`, body).lastInsertRowid,
  );
}

function document(): number {
  next++;
  return Number(
    db
      .prepare(
        "INSERT INTO documents (key, patient, kind, body, created_ms) VALUES (?, 'p1', 'pdf', '{}', 1)",
      )
      .run(`d${next}`).lastInsertRowid,
  );
}

function outbox(
  item: { readingId?: number; documentId?: number },
  state: string,
  doneMs: number | null,
): number {
  return Number(
    db
      .prepare(
        `INSERT INTO outbox (reading_id, document_id, route, patient, state, available_ms, created_ms, done_ms)
         VALUES (?, ?, 'pkb-rest', 'p1', ?, 0, 0, ?)`,
      )
      .run(item.readingId ?? null, item.documentId ?? null, state, doneMs).lastInsertRowid,
  );
}

const ids = (sql: string) => db.prepare(sql).pluck().all() as number[];

describe("usedBytes", () => {
  it("counts live pages plus the WAL and shared-memory files beside the database", () => {
    for (let i = 0; i < 50; i++) reading("x".repeat(2000));
    const file = join(tmp.dir, "buffer.db");
    const pageSize = db.pragma("page_size", { simple: true }) as number;
    const live =
      ((db.pragma("page_count", { simple: true }) as number) -
        (db.pragma("freelist_count", { simple: true }) as number)) *
      pageSize;
    const wal = statSync(`${file}-wal`).size;
    const shm = statSync(`${file}-shm`).size;
    expect(wal).toBeGreaterThan(0);
    expect(shm).toBeGreaterThan(0);
    expect(usedBytes(db)).toBe(live + wal + shm);
  });

  it("freed pages count as free (SQLite reuses them)", () => {
    // Bodies longer than a page live in overflow pages, which are freed when the body goes.
    const rows = Array.from({ length: 50 }, () => reading("x".repeat(6000)));
    db.prepare("UPDATE readings SET body = NULL WHERE id <= ?").run(rows[39]);
    const pageSize = db.pragma("page_size", { simple: true }) as number;
    const file = join(tmp.dir, "buffer.db");
    const free = db.pragma("freelist_count", { simple: true }) as number;
    expect(free).toBeGreaterThan(10);
    const pages = db.pragma("page_count", { simple: true }) as number;
    expect(usedBytes(db)).toBe(
      (pages - free) * pageSize + statSync(`${file}-wal`).size + statSync(`${file}-shm`).size,
    );
  });

  it("an in-memory database has no side files", () => {
    const mem = new Database(":memory:");
    migrate(mem);
    const pageSize = mem.pragma("page_size", { simple: true }) as number;
    expect(usedBytes(mem)).toBe((mem.pragma("page_count", { simple: true }) as number) * pageSize);
    mem.close();
  });
});

describe("pruneDelivered", () => {
  it("removes only delivered rows finished before the cut-off, oldest first, and strips their bodies but keeps their keys", () => {
    const r1 = reading();
    const r2 = reading();
    const r3 = reading();
    const r4 = reading();
    const r5 = reading();
    const o1 = outbox({ readingId: r1 }, "delivered", 300);
    const o2 = outbox({ readingId: r2 }, "delivered", 100);
    outbox({ readingId: r3 }, "delivered", 500); // exactly at the cut-off: kept
    outbox({ readingId: r4 }, "pending", null);
    outbox({ readingId: r5 }, "dead", 50);
    expect(pruneDelivered(db, 500, 1)).toBe(1);
    expect(ids("SELECT id FROM outbox WHERE state = 'delivered' ORDER BY id")).toEqual([o1, o1 + 2]);
    expect(o2).toBe(o1 + 1);
    expect(pruneDelivered(db, 500)).toBe(1);
    expect(ids("SELECT id FROM readings WHERE body IS NULL ORDER BY id")).toEqual([r1, r2]);
    expect(ids("SELECT count(*) FROM readings")).toEqual([5]);
    expect(db.prepare("SELECT state FROM outbox ORDER BY id").pluck().all()).toEqual([
      "delivered",
      "pending",
      "dead",
    ]);
    expect(pruneDelivered(db, 500)).toBe(0);
  });

  it("a reading or document still waiting on another route keeps its body", () => {
    const shared = reading();
    const doc = document();
    const lone = document();
    outbox({ readingId: shared }, "delivered", 1);
    outbox({ readingId: shared }, "pending", null);
    outbox({ documentId: doc }, "delivered", 1);
    outbox({ documentId: doc }, "leased", null);
    outbox({ documentId: lone }, "delivered", 1);
    expect(pruneDelivered(db, 10)).toBe(3);
    expect(db.prepare("SELECT body IS NULL FROM readings WHERE id = ?").pluck().get(shared)).toBe(0);
    expect(db.prepare("SELECT id FROM documents WHERE body IS NULL").pluck().all()).toEqual([lone]);
  });

  it("works through more rows than one transaction holds, up to the limit it is given", () => {
    db.transaction(() => {
      for (let i = 0; i < 4500; i++) outbox({ readingId: reading() }, "delivered", i);
    })();
    expect(pruneDelivered(db, Number.MAX_SAFE_INTEGER, 4100)).toBe(4100);
    expect(ids("SELECT count(*) FROM outbox")).toEqual([400]);
    expect(ids("SELECT min(done_ms) FROM outbox")).toEqual([4100]);
    expect(pruneDelivered(db, Number.MAX_SAFE_INTEGER)).toBe(400);
    expect(ids("SELECT count(*) FROM readings WHERE body IS NOT NULL")).toEqual([0]);
  });

  it("once its backlog is done the freed pages go back to the filesystem; a call cut short by its limit leaves that to the next", () => {
    db.transaction(() => {
      for (let i = 0; i < 200; i++) outbox({ readingId: reading("y".repeat(1500)) }, "delivered", i);
    })();
    expect(pruneDelivered(db, Number.MAX_SAFE_INTEGER, 100)).toBe(100);
    expect(db.pragma("freelist_count", { simple: true })).not.toBe(0);
    const pages = db.pragma("page_count", { simple: true }) as number;
    expect(pruneDelivered(db, Number.MAX_SAFE_INTEGER, 1000)).toBe(100);
    expect(db.pragma("freelist_count", { simple: true })).toBe(0);
    expect(db.pragma("page_count", { simple: true })).toBeLessThan(pages);
    expect(statSync(join(tmp.dir, "buffer.db-wal")).size).toBe(0);
  });
});

describe("pruneKeys", () => {
  it("forgets only keys with neither body nor outbox row, oldest first, up to the limit", () => {
    const bare1 = reading(null);
    const withBody = reading();
    const bare2 = reading(null);
    const waiting = reading(null);
    outbox({ readingId: waiting }, "pending", null);
    const bare3 = reading(null);
    expect(pruneKeys(db, 2)).toBe(2);
    expect(ids("SELECT id FROM readings ORDER BY id")).toEqual([withBody, waiting, bare3]);
    expect(bare2).toBeGreaterThan(bare1);
    expect(pruneKeys(db, 10)).toBe(1);
    expect(pruneKeys(db, 10)).toBe(0);
    expect(ids("SELECT id FROM readings ORDER BY id")).toEqual([withBody, waiting]);
  });
});
