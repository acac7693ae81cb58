import { statSync } from "node:fs";
import { type Db, reclaimFreePages } from "./db.js";

function fileSize(file: string): number {
  return statSync(file, { throwIfNoEntry: false })?.size ?? 0;
}

/**
 * Bytes the buffer takes on disk: live pages (freed pages are reused by SQLite, so they count as
 * free space) plus the WAL and shared-memory files beside it — a WAL can grow far past the
 * database itself (1.5 MB beside 4 KB was seen) and the disk holds it all the same.
 */
export function usedBytes(db: Db): number {
  const pageSize = db.pragma("page_size", { simple: true }) as number;
  const pages = db.pragma("page_count", { simple: true }) as number;
  const free = db.pragma("freelist_count", { simple: true }) as number;
  const side = db.memory ? 0 : fileSize(`${db.name}-wal`) + fileSize(`${db.name}-shm`);
  return (pages - free) * pageSize + side;
}

const CHUNK = 2000;

const RECLAIM_NOTE = "buffer:reclaim-pending";

/**
 * Rows holding PHI were deleted outside pruning (a forgotten HL7 message): secure_delete zeroes
 * them in the database, but older WAL frames still hold them until the WAL is truncated. Noted in
 * the deleting transaction (so it survives a restart); the next housekeeping pass reclaims.
 */
export function noteDeletedPhi(db: Db): void {
  db.prepare(
    `INSERT INTO kv (k, v, updated_ms) VALUES (?, '1', CAST(unixepoch('subsec') * 1000 AS INTEGER))
     ON CONFLICT(k) DO UPDATE SET v = excluded.v, updated_ms = excluded.updated_ms`,
  ).run(RECLAIM_NOTE);
}

/** Gives free pages back and truncates the WAL if PHI was deleted since the last time; true if it did. */
export function reclaimIfNoted(db: Db): boolean {
  if (db.prepare("DELETE FROM kv WHERE k = ?").run(RECLAIM_NOTE).changes === 0) return false;
  reclaimFreePages(db);
  return true;
}

/**
 * Prunes delivered outbox rows finished before `beforeMs` (oldest first, in small transactions so
 * ingest is never blocked for long). A reading whose rows are all gone keeps its key but loses its
 * body: a device that re-sends an old record is still recognised as a duplicate.
 * Nothing unsent is touched. Returns the number of outbox rows removed.
 *
 * When a call ends its backlog (it removed rows, fewer than it was allowed), the freed pages go
 * back to the filesystem and the WAL is truncated, so pruned bodies are not left readable there.
 */
export function pruneDelivered(db: Db, beforeMs: number, maxRows = Number.MAX_SAFE_INTEGER): number {
  const pick = db.prepare(
    "SELECT id, reading_id, document_id FROM outbox WHERE state = 'delivered' AND done_ms < ? ORDER BY done_ms LIMIT ?",
  );
  const del = db.prepare("DELETE FROM outbox WHERE id = ? AND state = 'delivered'");
  const stripReading = db.prepare(
    "UPDATE readings SET body = NULL WHERE id = ? AND NOT EXISTS (SELECT 1 FROM outbox WHERE reading_id = ?)",
  );
  const stripDocument = db.prepare(
    "UPDATE documents SET body = NULL WHERE id = ? AND NOT EXISTS (SELECT 1 FROM outbox WHERE document_id = ?)",
  );
  let removed = 0;
  const step = db.transaction((limit: number) => {
    const rows = pick.all(beforeMs, limit) as Array<{
      id: number;
      reading_id: number | null;
      document_id: number | null;
    }>;
    for (const r of rows) {
      del.run(r.id);
      if (r.reading_id !== null) stripReading.run(r.reading_id, r.reading_id);
      if (r.document_id !== null) stripDocument.run(r.document_id, r.document_id);
    }
    return rows.length;
  });
  while (removed < maxRows) {
    const n = step(Math.min(CHUNK, maxRows - removed));
    removed += n;
    if (n === 0) break;
  }
  if (removed > 0 && removed < maxRows) reclaimFreePages(db);
  return removed;
}

/** Last resort under the size cap: forget the keys of long-delivered readings, oldest first. */
export function pruneKeys(db: Db, maxRows: number): number {
  return db
    .prepare(
      `DELETE FROM readings WHERE id IN (
         SELECT id FROM readings WHERE body IS NULL AND NOT EXISTS (SELECT 1 FROM outbox WHERE reading_id = readings.id)
         ORDER BY id LIMIT ?)`,
    )
    .run(maxRows).changes;
}
