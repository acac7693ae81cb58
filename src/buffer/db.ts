import { chmodSync, existsSync, mkdirSync, renameSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { HubError, messageOf } from "../core/errors.js";
import { MIGRATIONS } from "./migrations.js";
import { type SalvageReport, salvageInto } from "./salvage.js";

export type Db = Database.Database;

export interface OpenResult {
  db: Db;
  /** Set when the previous file failed its integrity check and was moved aside (kept, never deleted). */
  corruptMovedTo?: string;
  /** What was carried over from the file moved aside. */
  salvage?: SalvageReport;
  /** The integrity problem REINDEX repaired in place. */
  repaired?: string;
}

const SIDE_FILES = ["", "-wal", "-shm"] as const;

/** SQLite error → our coded error. SQLITE_FULL is a full disk (or size limit); I/O errors are storage faults. */
export function translateSqliteError(err: unknown): HubError {
  if (err instanceof HubError) return err;
  const code = (err as { code?: unknown }).code;
  if (code === "SQLITE_FULL")
    return new HubError("DISK_FULL", "storage is full: reading not stored", { cause: err });
  if (typeof code === "string" && code.startsWith("SQLITE_IOERR")) {
    return new HubError("STORAGE_IO", `storage I/O error (${code})`, { cause: err });
  }
  if (code === "SQLITE_CORRUPT" || code === "SQLITE_NOTADB") {
    return new HubError("BUFFER_CORRUPT", `buffer database is corrupt (${code})`, { cause: err });
  }
  return new HubError("INTERNAL", `buffer error: ${messageOf(err)}`, { cause: err });
}

/** Default bound on the WAL file; the buffer passes one scaled to its size cap. */
export const DEFAULT_WAL_LIMIT_BYTES = 4 * 1024 * 1024;

export interface OpenOptions {
  nowMs?: number;
  /** A patient's route, for salvaged readings whose outbox row was lost. */
  routeOf?: (patient: string) => string | undefined;
  /** The WAL is checkpointed at half of this and truncated back to it after each reset. */
  walLimitBytes?: number;
  /**
   * Opened by a command (`outbox …`), possibly beside a running agent: a damaged file is refused,
   * never repaired, moved aside or salvaged, and an older file is not vacuumed. Those rights are the
   * agent's, which holds the lock on the data directory; a command doing them under its feet would
   * pull the file from under the agent's open connection.
   */
  tool?: boolean;
}

/** SQLite page cache per connection, in KiB. */
const PAGE_CACHE_KIB = 2000;

function configure(db: Db, walLimitBytes: number): void {
  // Takes effect on a new file (before its first table); an existing one is converted once by VACUUM.
  // Only on a new file: on an existing one the pragma commits a header write, before the file was
  // checked, and by a command even when it then refuses the file.
  if (db.pragma("page_count", { simple: true }) === 0) db.pragma("auto_vacuum = INCREMENTAL");
  db.pragma("journal_mode = WAL");
  // Deleted rows (delivered readings, sent HL7 messages with name, NHS number and date of birth)
  // are overwritten with zeros, not left readable in free pages or free space within pages.
  db.pragma("secure_delete = ON");
  // Without a limit the WAL keeps its high-water size for ever; with one it is cut back after each
  // checkpoint, and checkpoints come often enough that it stays near this bound.
  const pageSize = db.pragma("page_size", { simple: true }) as number;
  db.pragma(`journal_size_limit = ${walLimitBytes}`);
  db.pragma(`wal_autocheckpoint = ${Math.max(8, Math.floor(walLimitBytes / 2 / pageSize))}`);
  // FULL: a commit is on the SD card before ingest resolves. NORMAL could lose acknowledged readings on power loss.
  db.pragma("synchronous = FULL");
  db.pragma("busy_timeout = 5000");
  db.pragma("foreign_keys = ON");
  db.pragma("temp_store = MEMORY");
  // SQLite's own default (2 MiB). better-sqlite3 builds with 16 MiB, which a hub fills page by page
  // as its buffer grows: RSS then climbs for hours (a soak showed +14 MB in 30 minutes) for little
  // gain, since the kernel's page cache holds the file anyway.
  db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
}

/** A file written by a newer agent (a downgrade) is refused before anything touches it. */
function refuseNewer(version: number): void {
  if (version > MIGRATIONS.length) {
    throw new HubError(
      "BUFFER_TOO_NEW",
      `buffer schema version ${version} is newer than this agent (${MIGRATIONS.length}): a newer pkb-hub wrote it; run that version or later (the file was left untouched)`,
    );
  }
}

/** Applies the migrations a database lacks, up to `target` (default: all). */
export function migrate(db: Db, target: number = MIGRATIONS.length): number {
  const current = db.pragma("user_version", { simple: true }) as number;
  refuseNewer(current);
  // A step may rebuild a table (SQLite's documented 12-step procedure): with foreign keys on, dropping the
  // old table would cascade into its children (hl7_message_rows). Off during the steps (the pragma is a
  // no-op inside a transaction), checked before each commit, restored after.
  const fk = db.pragma("foreign_keys", { simple: true }) as number;
  db.pragma("foreign_keys = OFF");
  try {
    for (let v = current; v < target; v++) {
      const sql = MIGRATIONS[v] as string;
      db.transaction(() => {
        db.exec(sql);
        const broken = db.pragma("foreign_key_check") as unknown[];
        if (broken.length > 0) throw new HubError("BUFFER_CORRUPT", `migration ${v + 1} broke foreign keys`);
        db.pragma(`user_version = ${v + 1}`);
      })();
    }
  } finally {
    db.pragma(`foreign_keys = ${fk ? "ON" : "OFF"}`);
  }
  return Math.max(current, target);
}

const AUTO_VACUUM_INCREMENTAL = 2;

/**
 * A file created before auto_vacuum was set keeps its free pages for ever: convert it once with a
 * VACUUM, after which `reclaimFreePages` can give freed pages back to the filesystem. A VACUUM that
 * fails (a full disk: it needs room for a copy) is tried again at the next start; secure_delete
 * protects the free pages meanwhile. The copy is built in a temporary file, not in memory.
 */
export function enableIncrementalVacuum(db: Db): boolean {
  if (db.pragma("auto_vacuum", { simple: true }) === AUTO_VACUUM_INCREMENTAL) return true;
  try {
    db.pragma("auto_vacuum = INCREMENTAL");
    db.pragma("temp_store = FILE");
    db.exec("VACUUM");
  } catch {
    // retried at the next open
  } finally {
    db.pragma("temp_store = MEMORY");
  }
  return db.pragma("auto_vacuum", { simple: true }) === AUTO_VACUUM_INCREMENTAL;
}

/**
 * Gives up to `maxPages` free pages back to the filesystem (incremental vacuum), then truncates the
 * WAL, whose older frames still hold the pages as they were before their rows were deleted.
 * Returns the number of pages given back.
 */
export function reclaimFreePages(db: Db, maxPages = 1024): number {
  const before = db.pragma("page_count", { simple: true }) as number;
  try {
    db.pragma(`incremental_vacuum(${maxPages})`);
  } catch {
    // a full disk: the WAL cannot grow for the page moves; retried at the next pass
  }
  checkpoint(db, "TRUNCATE");
  return before - (db.pragma("page_count", { simple: true }) as number);
}

function checkIntegrity(db: Db): string | undefined {
  const rows = db.pragma("quick_check") as Array<{ quick_check: string }>;
  const first = rows[0]?.quick_check;
  return first === "ok" ? undefined : (first ?? "no result");
}

function moveAside(file: string, stamp: number): string {
  const target = `${file}.corrupt-${stamp}`;
  for (const suffix of SIDE_FILES) {
    if (existsSync(file + suffix)) renameSync(file + suffix, target + suffix);
  }
  return target;
}

/**
 * Copies the WAL into the database and, with TRUNCATE, gives its space back to the filesystem.
 * Returns whether the checkpoint completed (false when the disk was too full or a reader held it).
 */
export function checkpoint(db: Db, mode: "PASSIVE" | "TRUNCATE" = "TRUNCATE"): boolean {
  // Never wait for a reader (a CLI command looking at the buffer): that would stall the event loop
  // for the whole busy timeout. A checkpoint a reader blocks is simply done on a later pass.
  let timeout: unknown;
  try {
    timeout = db.pragma("busy_timeout", { simple: true });
    db.pragma("busy_timeout = 0");
    const [row] = db.pragma(`wal_checkpoint(${mode})`) as Array<{
      busy: number;
      log: number;
      checkpointed: number;
    }>;
    // PASSIVE reports busy 0 even when a reader kept it from copying every frame.
    return row !== undefined && row.busy === 0 && row.checkpointed === row.log;
  } catch {
    return false;
  } finally {
    if (typeof timeout === "number") db.pragma(`busy_timeout = ${timeout}`);
  }
}

/**
 * SQLite's own repair for damaged indexes: rebuild them all from the tables. Works when an index
 * is wrong but its pages are sound; a structurally damaged page makes it fail (rolled back).
 */
function reindex(db: Db): boolean {
  try {
    db.exec("REINDEX");
    return checkIntegrity(db) === undefined;
  } catch {
    return false;
  }
}

function tryOpen(
  file: string,
  walLimitBytes: number,
  repair = true,
): { db?: Db; problem?: string; repaired?: string } {
  let db: Db | undefined;
  try {
    db = new Database(file);
    refuseNewer(db.pragma("user_version", { simple: true }) as number);
    configure(db, walLimitBytes);
    const problem = checkIntegrity(db);
    if (problem) {
      if (repair && reindex(db)) return { db, repaired: problem };
      db.close();
      return { problem };
    }
    return { db };
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    db?.close();
    if (code === "SQLITE_CORRUPT" || code === "SQLITE_NOTADB") return { problem: String(code) };
    throw translateSqliteError(err);
  }
}

function refusedByTool(file: string, problem: string | undefined): HubError {
  return new HubError(
    "BUFFER_CORRUPT",
    `the buffer ${file} failed its integrity check (${problem ?? "unknown problem"}); this command does not repair it: ` +
      "the agent does when it starts, keeping the damaged file aside (sudo systemctl restart pkb-hub), then run this again",
  );
}

/**
 * Opens (creating with 0700/0600) the buffer and runs `PRAGMA quick_check`. A damaged file is first
 * repaired in place (REINDEX) when only its indexes are wrong; otherwise it is moved aside (kept,
 * never deleted), a fresh buffer is started, and every readable row is salvaged into it with its
 * key. The caller raises the alert.
 */
export function openDatabase(file: string, options: OpenOptions = {}): OpenResult {
  const nowMs = options.nowMs ?? Date.now();
  const walLimit = options.walLimitBytes ?? DEFAULT_WAL_LIMIT_BYTES;
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const first = tryOpen(file, walLimit, options.tool !== true);
  if (!first.db && options.tool) throw refusedByTool(file, first.problem);
  let db = first.db;
  const result: Omit<OpenResult, "db"> = first.repaired === undefined ? {} : { repaired: first.repaired };
  if (!db) {
    const aside = moveAside(file, nowMs);
    const fresh = tryOpen(file, walLimit);
    if (!fresh.db) throw new HubError("BUFFER_CORRUPT", `fresh buffer failed its check: ${fresh.problem}`);
    db = fresh.db;
    result.corruptMovedTo = aside;
    result.salvage = salvageInto(db, aside, {
      nowMs,
      latest: MIGRATIONS.length,
      migrateTo: (target, version) => migrate(target, version),
      ...(options.routeOf ? { routeOf: options.routeOf } : {}),
    });
  }
  for (const suffix of SIDE_FILES) {
    if (existsSync(file + suffix)) chmodSync(file + suffix, 0o600);
  }
  try {
    migrate(db);
  } catch (err) {
    db.close();
    throw translateSqliteError(err);
  }
  if (!options.tool) enableIncrementalVacuum(db);
  return { db, ...result };
}
