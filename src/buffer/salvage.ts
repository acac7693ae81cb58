import Database from "better-sqlite3";
import { messageOf } from "../core/errors.js";

type Db = Database.Database;

/** What was carried from a damaged buffer file into the fresh one. No PHI: counts and table names only. */
export interface SalvageReport {
  /** Rows copied, per table. */
  copied: Record<string, number>;
  /** Outbox rows not yet delivered (held, pending, leased, ambiguous, quarantined, dead) carried over. */
  unsent: number;
  /** Readings/documents whose outbox row was unreadable: re-queued as ambiguous (they may have been sent). */
  rebuilt: number;
  /** Rows on damaged pages, or whose content failed its check (dropped with their key, so a re-send is stored). */
  unreadable: number;
  /** Why nothing could be read, when that is so. */
  problem?: string;
}

export interface SalvageOptions {
  /** The route of a patient, for readings whose outbox row was lost. */
  routeOf?: (patient: string) => string | undefined;
  nowMs: number;
  /** Brings the fresh database to a schema version (the damaged file's), before copying into it. */
  migrateTo: (db: Db, version: number) => void;
  /** Latest schema version this agent knows. */
  latest: number;
}

const BATCH = 500;
const UNSENT = "state NOT IN ('delivered')";
const AMBIGUOUS_NOTE =
  "rebuilt after the buffer file was damaged: its delivery record was unreadable, so it may already have been delivered";

const quote = (name: string): string => `"${name.replaceAll('"', '""')}"`;

function isReadError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("SQLITE_") && code !== "SQLITE_FULL";
}

function columns(db: Db, table: string): string[] {
  return (db.pragma(`table_info(${quote(table)})`) as Array<{ name: string }>).map((c) => c.name);
}

/** The rowid tables of the fresh database, parents before children (foreign keys). */
function tablesOf(db: Db): string[] {
  const names = db
    .prepare(
      "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rootpage",
    )
    .pluck()
    .all() as string[];
  const parents = new Map(
    names.map((t) => [
      t,
      (db.pragma(`foreign_key_list(${quote(t)})`) as Array<{ table: string }>).map((f) => f.table),
    ]),
  );
  const ordered: string[] = [];
  const visit = (t: string): void => {
    if (ordered.includes(t)) return;
    for (const p of parents.get(t) ?? []) if (p !== t && names.includes(p)) visit(p);
    ordered.push(t);
  };
  for (const t of names) visit(t);
  return ordered;
}

/**
 * Copies every readable row of one table by rowid through the table's own b-tree (never an index,
 * which may be the damaged part). When a batch fails, rows are read one at a time; where the next
 * row is unreadable, the damaged stretch is stepped over (doubling steps, then a binary search back
 * to where reading works again), so one damaged page costs only the rows on it, and damage running
 * to the end of the table costs a few dozen probes, not a scan of every possible row id.
 */
function copyTable(src: Db, dst: Db, table: string): { copied: number; unreadable: number } {
  const have = new Set(columns(src, table));
  const cols = columns(dst, table).filter((c) => have.has(c));
  if (cols.length === 0) return { copied: 0, unreadable: 0 };
  const list = cols.map(quote).join(", ");
  const next = src.prepare(
    `SELECT rowid AS "__rowid", ${list} FROM ${quote(table)} NOT INDEXED WHERE rowid > ? ORDER BY rowid LIMIT ?`,
  );
  const insert = dst.prepare(
    `INSERT INTO ${quote(table)} (${list}) VALUES (${cols.map((c) => `@${c}`).join(", ")})`,
  );
  const damaged = (after: number): boolean => {
    try {
      next.all(after, 1);
      return false;
    } catch (err) {
      if (!isReadError(err)) throw err;
      return true;
    }
  };
  /** From a position whose next row is unreadable: the first position from which reading works again. */
  const pastDamage = (from: number): number | undefined => {
    let lo = from;
    let hi: number | undefined;
    for (let step = 1; from + step <= Number.MAX_SAFE_INTEGER; step *= 2) {
      if (!damaged(from + step)) {
        hi = from + step;
        break;
      }
      lo = from + step;
    }
    if (hi === undefined) return undefined;
    let good: number = hi;
    while (good - lo > 1) {
      const mid: number = lo + Math.floor((good - lo) / 2);
      if (damaged(mid)) lo = mid;
      else good = mid;
    }
    return good;
  };
  let copied = 0;
  let unreadable = 0;
  let after = Number.MIN_SAFE_INTEGER;
  let single = 0; // rows still to read one at a time after a failure
  for (;;) {
    const limit = single > 0 ? 1 : BATCH;
    let rows: Array<Record<string, unknown>>;
    try {
      rows = next.all(after, limit) as Array<Record<string, unknown>>;
    } catch (err) {
      if (!isReadError(err)) throw err;
      if (single === 0) {
        single = BATCH;
        continue;
      }
      const resume = pastDamage(Math.max(after, 0));
      if (resume === undefined) break;
      // Row ids are dense (rows are only ever appended), so the ids stepped over are the rows lost.
      unreadable += resume - Math.max(after, 0);
      after = resume;
      continue;
    }
    if (rows.length === 0) break;
    if (single > 0) single--;
    for (const row of rows) {
      const { __rowid: id, ...values } = row;
      after = id as number;
      try {
        insert.run(values);
        copied++;
      } catch (err) {
        if (!isReadError(err)) throw err;
        unreadable++; // a value that breaks a constraint is damage too
      }
    }
    if (rows.length < limit) break;
  }
  return { copied, unreadable };
}

/** Readings and documents whose body does not parse or does not match its own key are damage. */
function dropDamagedBodies(dst: Db, table: "readings" | "documents"): number {
  const rows = dst
    .prepare(`SELECT id, key, patient, body FROM ${table} WHERE body IS NOT NULL`)
    .all() as Array<{ id: number; key: string; patient: string; body: string }>;
  let dropped = 0;
  const column = table === "readings" ? "reading_id" : "document_id";
  for (const r of rows) {
    let ok = false;
    try {
      const parsed = JSON.parse(r.body) as { key?: unknown; patient?: unknown };
      ok = parsed.key === r.key && parsed.patient === r.patient;
    } catch {
      ok = false;
    }
    if (ok) continue;
    // Its key goes too: if the device sends the record again, it is stored afresh.
    dst.prepare(`DELETE FROM outbox WHERE ${column} = ?`).run(r.id);
    dst.prepare(`DELETE FROM ${table} WHERE id = ?`).run(r.id);
    dropped++;
  }
  return dropped;
}

/** Rows whose parent was unreadable (an outbox row without its reading, a message row without its message). */
function dropOrphans(dst: Db): { unsent: number; rows: number } {
  let unsent = 0;
  let rows = 0;
  for (;;) {
    const orphans = dst.pragma("foreign_key_check") as Array<{ table: string; rowid: number }>;
    if (orphans.length === 0) break;
    for (const o of orphans) {
      if (o.table === "outbox") {
        unsent += dst
          .prepare(`SELECT count(*) FROM outbox WHERE rowid = ? AND ${UNSENT}`)
          .pluck()
          .get(o.rowid) as number;
      }
      rows += dst.prepare(`DELETE FROM ${quote(o.table)} WHERE rowid = ?`).run(o.rowid).changes;
    }
  }
  return { unsent, rows };
}

/**
 * A reading (or document) still carrying its body but with no outbox row lost that row to the
 * damage: it may or may not have been delivered. It goes back to the outbox as ambiguous — never
 * dropped, never silently re-sent as if new.
 */
function rebuildOutbox(dst: Db, options: SalvageOptions): number {
  if (!options.routeOf) return 0;
  let rebuilt = 0;
  // Schema 3 keeps why a row waits for a person in `reason`; earlier ones only had `last_error`.
  const noteColumn = columns(dst, "outbox").includes("reason") ? "reason" : "last_error";
  const insert = (state: string, ambiguous: number) =>
    dst.prepare(
      `INSERT INTO outbox (reading_id, document_id, route, patient, state, available_ms, created_ms, ${noteColumn}, ambiguous)
       VALUES (@readingId, @documentId, @route, @patient, '${state}', @now, @now, @note, ${ambiguous})`,
    );
  // The 'ambiguous' state (settled by a person) where the schema has it; else pending, flagged.
  const hasAmbiguousState = /'ambiguous'/.test(
    dst.prepare("SELECT sql FROM sqlite_schema WHERE name = 'outbox'").pluck().get() as string,
  );
  const stmt = hasAmbiguousState ? insert("ambiguous", 1) : insert("pending", 1);
  for (const [table, column] of [
    ["readings", "reading_id"],
    ["documents", "document_id"],
  ] as const) {
    const lost = dst
      .prepare(
        `SELECT id, patient FROM ${table} t WHERE body IS NOT NULL AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.${column} = t.id)`,
      )
      .all() as Array<{ id: number; patient: string }>;
    for (const r of lost) {
      const route = options.routeOf(r.patient);
      if (route === undefined) continue;
      stmt.run({
        readingId: table === "readings" ? r.id : null,
        documentId: table === "documents" ? r.id : null,
        route,
        patient: r.patient,
        now: options.nowMs,
        note: AMBIGUOUS_NOTE,
      });
      rebuilt++;
    }
  }
  return rebuilt;
}

function schemaReadable(src: Db): number | undefined {
  try {
    src.prepare("SELECT count(*) FROM sqlite_schema").get();
    return src.pragma("user_version", { simple: true }) as number;
  } catch {
    return undefined;
  }
}

/** The damaged file, read-only: a read-write open would checkpoint its WAL into it (and delete the WAL) on close. */
function openSource(file: string): Db | undefined {
  try {
    return new Database(file, { readonly: true, fileMustExist: true });
  } catch {
    return undefined;
  }
}

/**
 * Carries every readable row of a damaged buffer file into a fresh, empty one, keeping row ids and
 * idempotency keys (so nothing is sent twice and a device re-sending a delivered record is still
 * a duplicate). Rows are then checked: bodies must match their key, children need their parent,
 * and a reading that lost its outbox row is re-queued as ambiguous. The damaged file is only read.
 */
export function salvageInto(target: Db, damagedFile: string, options: SalvageOptions): SalvageReport {
  const report: SalvageReport = { copied: {}, unsent: 0, rebuilt: 0, unreadable: 0 };
  const src = openSource(damagedFile);
  const version = src ? schemaReadable(src) : undefined;
  try {
    if (!src || version === undefined)
      return { ...report, problem: "the damaged file's schema cannot be read" };
    if (version > options.latest) {
      return { ...report, problem: `the damaged file has a newer schema (${version})` };
    }
    options.migrateTo(target, version);
    const source = src;
    target.pragma("foreign_keys = OFF");
    try {
      target.transaction(() => {
        for (const table of tablesOf(target)) {
          let got: { copied: number; unreadable: number };
          try {
            got = copyTable(source, target, table);
          } catch (err) {
            if (!isReadError(err)) throw err;
            got = { copied: 0, unreadable: 0 };
          }
          report.copied[table] = got.copied;
          report.unreadable += got.unreadable;
        }
        report.unreadable += dropDamagedBodies(target, "readings");
        report.unreadable += dropDamagedBodies(target, "documents");
        report.unreadable += dropOrphans(target).rows;
        report.rebuilt = rebuildOutbox(target, options);
        report.unsent = target.prepare(`SELECT count(*) FROM outbox WHERE ${UNSENT}`).pluck().get() as number;
      })();
    } finally {
      target.pragma("foreign_keys = ON");
    }
    return report;
  } catch (err) {
    return { ...report, problem: `salvage failed: ${messageOf(err)}` };
  } finally {
    src?.close();
  }
}
