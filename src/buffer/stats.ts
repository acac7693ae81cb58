import type { Alert } from "./alerts.js";
import type { Db } from "./db.js";
import { type DeadLetter, OUTBOX_STATES, type OutboxState } from "./outbox.js";

export interface BufferStats {
  byState: Record<OutboxState, number>;
  /** Per route, every state (zeros included): what MQTT health publishes per route. */
  byRoute: Record<string, Record<OutboxState, number>>;
  /** held + pending + leased */
  unsent: number;
  oldestUnsentAgeSec: number | null;
  deadLetters: number;
  /** Rows in state `ambiguous`: sent, outcome unknown, waiting for a person (or reconciliation). */
  ambiguous: number;
  /** Rows in state `quarantined`: physically impossible values, never forwarded. */
  quarantined: number;
  /** Delivered rows whose delivery followed an attempt that may have reached PKB. */
  ambiguousDeliveries: number;
  /** Rows delivered in the last hour (wall clock). */
  deliveredLastHour: number;
  duplicates: number;
  refused: number;
  usedBytes: number;
  maxBytes: number;
  alerts: Alert[];
}

const HOUR_MS = 3_600_000;

/** `outbox|<route>|<state>|<flag>` (route names never contain `|`: they are config keys). */
function parseCount(row: { name: string; value: number }) {
  const parts = row.name.split("|");
  const flag = parts.pop();
  const state = parts.pop() as OutboxState;
  return { route: parts.slice(1).join("|"), state, ambiguous: Number(flag), n: row.value };
}

function zeros(): Record<OutboxState, number> {
  return Object.fromEntries(OUTBOX_STATES.map((s) => [s, 0])) as Record<OutboxState, number>;
}

/**
 * Cheap enough for every health interval whatever the backlog: counts come from `outbox_counts`
 * (in `counters`, kept by triggers in the same transactions as the rows), the oldest unsent row and the last
 * hour's deliveries from partial indexes; nothing scans the outbox.
 */
export function buildStats(
  db: Db,
  nowMs: number,
  alerts: Alert[],
  used: number,
  maxBytes: number,
): BufferStats {
  const rows = (
    db
      .prepare("SELECT name, value FROM counters WHERE name >= 'outbox|' AND name < 'outbox}' AND value <> 0")
      .all() as Array<{ name: string; value: number }>
  ).map(parseCount);
  const byState = zeros();
  const byRoute: Record<string, Record<OutboxState, number>> = {};
  let ambiguousDeliveries = 0;
  for (const r of rows) {
    byState[r.state] += r.n;
    const route = byRoute[r.route] ?? zeros();
    route[r.state] += r.n;
    byRoute[r.route] = route;
    if (r.state === "delivered" && r.ambiguous === 1) ambiguousDeliveries += r.n;
  }
  const oldest = db
    .prepare("SELECT created_ms FROM outbox WHERE state IN ('held', 'pending', 'leased') ORDER BY id LIMIT 1")
    .pluck()
    .get() as number | undefined;
  const deliveredLastHour = db
    .prepare("SELECT count(*) FROM outbox WHERE state = 'delivered' AND done_ms > ?")
    .pluck()
    .get(nowMs - HOUR_MS) as number;
  const counter = (name: string): number =>
    (db.prepare("SELECT value FROM counters WHERE name = ?").pluck().get(name) as number | undefined) ?? 0;
  return {
    byState,
    byRoute,
    unsent: byState.held + byState.pending + byState.leased,
    oldestUnsentAgeSec: oldest === undefined ? null : Math.max(0, Math.round((nowMs - oldest) / 1000)),
    deadLetters: byState.dead,
    ambiguous: byState.ambiguous,
    quarantined: byState.quarantined,
    ambiguousDeliveries,
    deliveredLastHour,
    duplicates: counter("duplicates"),
    refused: counter("refused"),
    usedBytes: used,
    maxBytes,
    alerts,
  };
}

/**
 * Makes sure the outbox counts match the rows (one count(*) on an index). They can only drift if
 * rows arrived without the triggers seeing them, e.g. a salvage that copied an old file's counters
 * along with its rows; then they are recounted from the table. Returns whether a recount was needed.
 */
export function ensureOutboxCounts(db: Db): boolean {
  const rows = db.prepare("SELECT count(*) FROM outbox").pluck().get() as number;
  const counted = db
    .prepare("SELECT coalesce(sum(value), 0) FROM counters WHERE name >= 'outbox|' AND name < 'outbox}'")
    .pluck()
    .get() as number;
  const negative = db
    .prepare("SELECT count(*) FROM counters WHERE name >= 'outbox|' AND name < 'outbox}' AND value < 0")
    .pluck()
    .get() as number;
  if (rows === counted && negative === 0) return false;
  db.transaction(() => {
    db.prepare("DELETE FROM counters WHERE name >= 'outbox|' AND name < 'outbox}'").run();
    db.prepare(
      `INSERT INTO counters (name, value)
       SELECT 'outbox|' || route || '|' || state || '|' || ambiguous, count(*) FROM outbox GROUP BY route, state, ambiguous`,
    ).run();
  })();
  return true;
}

export type { DeadLetter };
