import type { Alert } from "./alerts.js";
import type { Db } from "./db.js";
import { type DeadLetter, OUTBOX_STATES, type OutboxState } from "./outbox.js";

export interface BufferStats {
  byState: Record<OutboxState, number>;
  byRoute: Record<string, Record<string, number>>;
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
  duplicates: number;
  refused: number;
  usedBytes: number;
  maxBytes: number;
  alerts: Alert[];
}

export function buildStats(
  db: Db,
  nowMs: number,
  alerts: Alert[],
  used: number,
  maxBytes: number,
): BufferStats {
  const rows = db
    .prepare("SELECT route, state, count(*) AS n FROM outbox GROUP BY route, state")
    .all() as Array<{
    route: string;
    state: string;
    n: number;
  }>;
  const byState = Object.fromEntries(OUTBOX_STATES.map((s) => [s, 0])) as Record<OutboxState, number>;
  const byRoute: Record<string, Record<string, number>> = {};
  for (const r of rows) {
    byState[r.state as OutboxState] += r.n;
    byRoute[r.route] = { ...(byRoute[r.route] ?? {}), [r.state]: r.n };
  }
  const oldest = db
    .prepare("SELECT created_ms FROM outbox WHERE state IN ('held', 'pending', 'leased') ORDER BY id LIMIT 1")
    .pluck()
    .get() as number | undefined;
  const counter = (name: string): number =>
    (db.prepare("SELECT value FROM counters WHERE name = ?").pluck().get(name) as number | undefined) ?? 0;
  const ambiguous = db
    .prepare("SELECT count(*) FROM outbox WHERE state = 'delivered' AND ambiguous = 1")
    .pluck()
    .get() as number;
  return {
    byState,
    byRoute,
    unsent: byState.held + byState.pending + byState.leased,
    oldestUnsentAgeSec: oldest === undefined ? null : Math.max(0, Math.round((nowMs - oldest) / 1000)),
    deadLetters: byState.dead,
    ambiguous: byState.ambiguous,
    quarantined: byState.quarantined,
    ambiguousDeliveries: ambiguous,
    duplicates: counter("duplicates"),
    refused: counter("refused"),
    usedBytes: used,
    maxBytes,
    alerts,
  };
}

export type { DeadLetter };
