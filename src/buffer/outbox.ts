import { randomUUID } from "node:crypto";
import type { Clock } from "../core/clock.js";
import { HubError } from "../core/errors.js";
import type { Reading } from "../core/reading.js";
import type { Alerts } from "./alerts.js";
import { type BackoffPolicy, backoffDelayMs } from "./backoff.js";
import type { Db } from "./db.js";

/**
 * `held`: hub clock not yet trusted. `ambiguous`: sent, outcome unknown: never re-sent blindly; a
 * person settles it (`outbox resolve`) or, later, reconciliation claims it (`claimAmbiguous`).
 * `quarantined`: a physically impossible value: kept, never claimed, never forwarded.
 */
export type OutboxState = "held" | "pending" | "leased" | "ambiguous" | "quarantined" | "delivered" | "dead";

export const OUTBOX_STATES: readonly OutboxState[] = [
  "held",
  "pending",
  "leased",
  "ambiguous",
  "quarantined",
  "delivered",
  "dead",
];

/** The alert raised while any row is `ambiguous`; cleared when none is left. */
export const AMBIGUOUS_ALERT = "AMBIGUOUS_DELIVERY";

/** A stored document (HL7 MDM^T02 and similar) travelling through the outbox like a reading. */
export interface StoredDocument {
  key: string;
  patient: string;
  kind: string;
  [field: string]: unknown;
}

export interface Claimed {
  id: number;
  route: string;
  patient: string;
  attempts: number;
  /** True when an earlier attempt may have reached the server (sent, no answer). */
  ambiguous: boolean;
  item: { type: "reading"; reading: Reading } | { type: "document"; document: StoredDocument };
}

export interface Lease {
  token: string;
  expiresMs: number;
  rows: Claimed[];
}

export type Outcome =
  | { kind: "delivered" }
  /**
   * `retryAfterMs` (server said when) does not spend an attempt; `ambiguous`: the request may have
   * arrived; `notBeforeMs`: the next attempt comes no sooner than this long from now (buffer time),
   * even when the backoff or Retry-After is shorter (e.g. a request that may still land at the server
   * is read back only after it had time to).
   */
  | { kind: "retry"; error: string; retryAfterMs?: number; ambiguous?: boolean; notBeforeMs?: number }
  | { kind: "rejected"; reason: string }
  /** The request may have been processed (e.g. a 2xx without a readable ACK): never re-sent blindly. */
  | { kind: "ambiguous"; reason: string };

export interface OutboxOptions {
  /** Wall clock: stamps completions (`done_ms`), alerts. */
  clock: Clock;
  /** Buffer time (monotonic within a boot): every deadline — leases, backoff, Retry-After. */
  timebase: { nowMs(): number };
  backoff: BackoffPolicy;
  maxAttempts: number;
  leaseMs: number;
  random?: () => number;
  /** Where `AMBIGUOUS_DELIVERY` is raised and cleared. */
  alerts?: Alerts;
}

interface ClaimRow {
  id: number;
  route: string;
  patient: string;
  attempts: number;
  ambiguous: number;
  reading_id: number | null;
  document_id: number | null;
}

/** A row waiting for a person: dead, ambiguous or quarantined. `reason` may quote PKB (PHI): show it only on request. */
export interface DeadLetter {
  id: number;
  route: string;
  patient: string;
  attempts: number;
  reason: string;
  createdMs: number;
  /** When it entered its state. */
  doneMs: number;
}

export type AttentionState = "dead" | "ambiguous" | "quarantined";

export class Outbox {
  private readonly random: () => number;
  private readonly stmts;

  constructor(
    private readonly db: Db,
    private readonly options: OutboxOptions,
  ) {
    this.random = options.random ?? Math.random;
    this.stmts = {
      claim: db.prepare(
        `UPDATE outbox SET state = 'leased', lease_token = @token, lease_expires_ms = @expires, lease_from = 'pending'
         WHERE id IN (SELECT id FROM outbox WHERE state = 'pending' AND route = @route AND available_ms <= @now
                      ORDER BY available_ms, id LIMIT @limit)
         RETURNING id, route, patient, attempts, ambiguous, reading_id, document_id`,
      ),
      claimIds: db.prepare(
        `UPDATE outbox SET state = 'leased', lease_token = @token, lease_expires_ms = @expires, lease_from = 'pending'
         WHERE id IN (SELECT value FROM json_each(@ids)) AND state = 'pending'
         RETURNING id, route, patient, attempts, ambiguous, reading_id, document_id`,
      ),
      claimAmbiguous: db.prepare(
        `UPDATE outbox SET state = 'leased', lease_token = @token, lease_expires_ms = @expires, lease_from = 'ambiguous'
         WHERE id IN (SELECT id FROM outbox WHERE state = 'ambiguous' AND route = @route ORDER BY id LIMIT @limit)
         RETURNING id, route, patient, attempts, ambiguous, reading_id, document_id`,
      ),
      openPatients: db.prepare(
        `WITH RECURSIVE p(patient) AS (
           SELECT min(patient) FROM outbox WHERE route = @route AND state IN ('held', 'pending', 'leased')
           UNION ALL
           SELECT (SELECT min(patient) FROM outbox WHERE route = @route AND state IN ('held', 'pending', 'leased') AND patient > p.patient)
           FROM p WHERE p.patient IS NOT NULL)
         SELECT patient FROM p WHERE patient IS NOT NULL`,
      ),
      patientHead: db.prepare(
        `SELECT id, state, available_ms FROM outbox
         WHERE route = @route AND patient = @patient AND state IN ('held', 'pending', 'leased') ORDER BY id LIMIT @limit`,
      ),
      readingBody: db.prepare("SELECT body FROM readings WHERE id = ?").pluck(),
      documentBody: db.prepare("SELECT body FROM documents WHERE id = ?").pluck(),
      delivered: db.prepare(
        `UPDATE outbox SET state = 'delivered', done_ms = @now, lease_token = NULL, lease_expires_ms = NULL, lease_from = NULL,
           last_error = NULL, reason = NULL
         WHERE id = @id AND lease_token = @token AND state = 'leased'`,
      ),
      retry: db.prepare(
        `UPDATE outbox SET state = 'pending', lease_token = NULL, lease_expires_ms = NULL, lease_from = NULL, attempts = @attempts,
           reason = NULL, available_ms = @available, last_error = @error, ambiguous = max(ambiguous, @ambiguous)
         WHERE id = @id AND lease_token = @token AND state = 'leased'`,
      ),
      dead: db.prepare(
        `UPDATE outbox SET state = 'dead', lease_token = NULL, lease_expires_ms = NULL, lease_from = NULL, attempts = @attempts,
           reason = @reason, done_ms = @now, ambiguous = max(ambiguous, @ambiguous)
         WHERE id = @id AND lease_token = @token AND state = 'leased'`,
      ),
      ambiguous: db.prepare(
        `UPDATE outbox SET state = 'ambiguous', lease_token = NULL, lease_expires_ms = NULL, lease_from = NULL,
           attempts = @attempts, reason = @reason, last_error = 'outcome unknown: may have been processed', done_ms = @now,
           ambiguous = 1
         WHERE id = @id AND lease_token = @token AND state = 'leased'`,
      ),
      ambiguousCount: db.prepare("SELECT count(*) FROM outbox WHERE state = 'ambiguous'").pluck(),
      stateOf: db.prepare("SELECT state FROM outbox WHERE id = ?").pluck(),
      resolveDelivered: db.prepare(
        `UPDATE outbox SET state = 'delivered', done_ms = @now, reason = NULL,
           last_error = 'settled by hand: found delivered'
         WHERE id = @id AND state = 'ambiguous'`,
      ),
      resolveResend: db.prepare(
        `UPDATE outbox SET state = 'pending', available_ms = @now, done_ms = NULL, reason = NULL,
           last_error = 'settled by hand: not delivered, to be re-sent'
         WHERE id = @id AND state = 'ambiguous'`,
      ),
      attemptsOf: db
        .prepare("SELECT attempts FROM outbox WHERE id = ? AND lease_token = ? AND state = 'leased'")
        .pluck(),
      reclaim: db.prepare(
        `UPDATE outbox SET state = CASE lease_from WHEN 'ambiguous' THEN 'ambiguous' ELSE 'pending' END,
           lease_token = NULL, lease_expires_ms = NULL, lease_from = NULL, ambiguous = 1,
           available_ms = max(available_ms,
             coalesce(@now + (SELECT value FROM json_each(@waits) WHERE key = outbox.route), available_ms)),
           last_error = 'lease expired: the agent stopped or stalled while sending'
         WHERE state = 'leased' AND lease_expires_ms <= @cutoff`,
      ),
      wake: db.prepare(
        `UPDATE outbox SET available_ms = @now
         WHERE state = 'pending' AND route = @route AND patient = @patient AND last_error = @error AND available_ms > @now`,
      ),
      extend: db.prepare(
        "UPDATE outbox SET lease_expires_ms = @expires WHERE lease_token = @token AND state = 'leased'",
      ),
      retryDead: db.prepare(
        `UPDATE outbox SET state = 'pending', attempts = 0, available_ms = @now, reason = NULL, done_ms = NULL,
           last_error = 'dead letter re-queued by hand'
         WHERE state = 'dead' AND (@id IS NULL OR id = @id) AND (@route IS NULL OR route = @route)`,
      ),
    };
  }

  private lease(rows: ClaimRow[], token: string, expiresMs: number): Lease {
    return { token, expiresMs, rows: rows.map((r) => this.hydrate(r)) };
  }

  private hydrate(r: ClaimRow): Claimed {
    const base = {
      id: r.id,
      route: r.route,
      patient: r.patient,
      attempts: r.attempts,
      ambiguous: r.ambiguous === 1,
    };
    if (r.reading_id !== null) {
      const body = this.stmts.readingBody.get(r.reading_id) as string | null | undefined;
      if (!body) throw new HubError("INTERNAL", `outbox row ${r.id} has no reading body`);
      return { ...base, item: { type: "reading", reading: JSON.parse(body) as Reading } };
    }
    const body = this.stmts.documentBody.get(r.document_id) as string | null | undefined;
    if (!body) throw new HubError("INTERNAL", `outbox row ${r.id} has no document body`);
    return { ...base, item: { type: "document", document: JSON.parse(body) as StoredDocument } };
  }

  /** Claims up to `limit` ready rows of a route, oldest first, in one UPDATE … RETURNING. */
  claim(route: string, limit: number, leaseMs = this.options.leaseMs): Lease {
    const now = this.options.timebase.nowMs();
    const token = randomUUID();
    const expires = now + leaseMs;
    return this.db.transaction(() => {
      const rows = this.stmts.claim.all({ route, now, limit, token, expires }) as ClaimRow[];
      rows.sort((a, b) => a.id - b.id);
      return this.lease(rows, token, expires);
    })();
  }

  /**
   * Per-patient ordering: for each patient of the route whose oldest open row is ready and not in
   * flight, claims that row and the consecutive ready ones after it (up to `perPatient`). A patient
   * whose oldest open row is held (clock not yet trusted), in flight or waiting for backoff is
   * skipped, so nothing overtakes an earlier reading that will still be sent.
   *
   * Rows that are not open do not hold the patient's later readings back: `quarantined` (never sent),
   * `dead` (a person decides), and `ambiguous` (it was sent, so it already went out ahead of the later
   * ones; waiting days for a person would delay every later reading — if it turns out not delivered
   * and is re-sent, it arrives after them, with its own measurement time). A row leased for
   * reconciliation (`claimAmbiguous`) is in flight, so it does hold them back until it is settled.
   */
  claimOrdered(route: string, perPatient: number, maxPatients = 8, leaseMs = this.options.leaseMs): Lease {
    const now = this.options.timebase.nowMs();
    const token = randomUUID();
    const expires = now + leaseMs;
    return this.db.transaction(() => {
      const ids: number[] = [];
      const patients = this.stmts.openPatients.pluck().all({ route }) as string[];
      for (const patient of patients) {
        if (ids.length > 0 && ids.length >= perPatient * maxPatients) break;
        const head = this.stmts.patientHead.all({ route, patient, limit: perPatient }) as Array<{
          id: number;
          state: string;
          available_ms: number;
        }>;
        for (const row of head) {
          if (row.state !== "pending" || row.available_ms > now) break;
          ids.push(row.id);
        }
      }
      const rows =
        ids.length === 0
          ? []
          : (this.stmts.claimIds.all({ ids: JSON.stringify(ids), token, expires }) as ClaimRow[]);
      rows.sort((a, b) => a.id - b.id);
      return this.lease(rows, token, expires);
    })();
  }

  /**
   * Leases up to `n` `ambiguous` rows of a route, oldest first, for automatic reconciliation (issue 13):
   * the reconciler finds out whether the record has the reading and completes with `delivered`,
   * `retry` (re-send) or `ambiguous` (still unknown). An expired lease returns the rows to `ambiguous`.
   */
  claimAmbiguous(route: string, n: number, leaseMs = this.options.leaseMs): Lease {
    const token = randomUUID();
    const expires = this.options.timebase.nowMs() + leaseMs;
    return this.db.transaction(() => {
      const rows = this.stmts.claimAmbiguous.all({ route, limit: n, token, expires }) as ClaimRow[];
      rows.sort((a, b) => a.id - b.id);
      return this.lease(rows, token, expires);
    })();
  }

  /** Finishes leased rows. Returns how many still held the lease (a row whose lease expired is not touched). */
  complete(token: string, ids: readonly number[], outcome: Outcome): number {
    const now = { wall: this.options.clock.nowMs(), t: this.options.timebase.nowMs() };
    const done = this.db.transaction(() => {
      let n = 0;
      for (const id of ids) n += this.completeOne(token, id, outcome, now);
      return n;
    })();
    if (outcome.kind === "ambiguous" && done > 0) this.refreshAmbiguousAlert();
    return done;
  }

  /**
   * Finishes a lease's rows with their outcomes in one transaction (one commit, not one per
   * outcome). Returns how many still held the lease.
   */
  completeAll(token: string, settled: ReadonlyArray<{ ids: readonly number[]; outcome: Outcome }>): number {
    const now = { wall: this.options.clock.nowMs(), t: this.options.timebase.nowMs() };
    let ambiguous = false;
    const done = this.db.transaction(() => {
      let n = 0;
      for (const { ids, outcome } of settled) {
        let k = 0;
        for (const id of ids) k += this.completeOne(token, id, outcome, now);
        if (outcome.kind === "ambiguous" && k > 0) ambiguous = true;
        n += k;
      }
      return n;
    })();
    if (ambiguous) this.refreshAmbiguousAlert();
    return done;
  }

  /** `times.wall` stamps completion (`done_ms`: retention, display); `times.t` (buffer time) sets the next attempt. */
  private completeOne(
    token: string,
    id: number,
    outcome: Outcome,
    times: { wall: number; t: number },
  ): number {
    const now = times.wall;
    if (outcome.kind === "delivered") return this.stmts.delivered.run({ id, token, now }).changes;
    const attemptsBefore = this.stmts.attemptsOf.get(id, token) as number | undefined;
    if (attemptsBefore === undefined) return 0;
    if (outcome.kind === "ambiguous") {
      return this.stmts.ambiguous.run({
        id,
        token,
        now,
        attempts: attemptsBefore + 1,
        reason: outcome.reason,
      }).changes;
    }
    if (outcome.kind === "rejected") {
      return this.stmts.dead.run({
        id,
        token,
        now,
        attempts: attemptsBefore + 1,
        reason: outcome.reason,
        ambiguous: 0,
      }).changes;
    }
    const ambiguous = outcome.ambiguous ? 1 : 0;
    const notBeforeMs = Math.max(0, outcome.notBeforeMs ?? 0);
    if (outcome.retryAfterMs !== undefined) {
      // The server told us when: waiting is not a failed attempt.
      const available = times.t + Math.max(0, outcome.retryAfterMs, notBeforeMs);
      return this.stmts.retry.run({
        id,
        token,
        attempts: attemptsBefore,
        available,
        error: outcome.error,
        ambiguous,
      }).changes;
    }
    const attempts = attemptsBefore + 1;
    if (attempts >= this.options.maxAttempts) {
      const reason = `gave up after ${attempts} attempts: ${outcome.error}`;
      return this.stmts.dead.run({ id, token, now, attempts, reason, ambiguous }).changes;
    }
    const available =
      times.t + Math.max(backoffDelayMs(attempts, this.options.backoff, this.random), notBeforeMs);
    return this.stmts.retry.run({ id, token, attempts, available, error: outcome.error, ambiguous }).changes;
  }

  /**
   * Before each request of a long lease: once half the lease time is gone the lease is extended
   * (a write only then, not per request). False when the lease was lost (expired and reclaimed):
   * its rows may be someone else's now, so nothing of it may be sent.
   */
  keepAlive(lease: Lease, leaseMs = this.options.leaseMs): boolean {
    const now = this.options.timebase.nowMs();
    if (lease.expiresMs - now > leaseMs / 2) return true;
    if (this.extend(lease.token, leaseMs) === 0) return false;
    lease.expiresMs = now + leaseMs;
    return true;
  }

  /**
   * Rows of `route` for `patient` that wait after failing with exactly `error` may go now: what they
   * waited for has changed (e.g. the patient was re-linked). Returns how many.
   */
  wake(route: string, patient: string, error: string): number {
    return this.stmts.wake.run({ route, patient, error, now: this.options.timebase.nowMs() }).changes;
  }

  /** Keeps a long send's lease alive. */
  extend(token: string, leaseMs = this.options.leaseMs): number {
    return this.stmts.extend.run({ token, expires: this.options.timebase.nowMs() + leaseMs }).changes;
  }

  /**
   * Returns rows whose lease expired (a crash or stall) to pending, flagged: they may have been sent.
   * A row leased from `ambiguous` (reconciliation) goes back to `ambiguous`.
   */
  reclaimExpired(nowMs = this.options.timebase.nowMs()): number {
    return this.reclaim(nowMs, {});
  }

  /**
   * At start-up every lease belongs to a dead process: reclaim them all. `waitMsByRoute`: a request
   * cut off by the crash may still land at the server, so a reclaimed row of that route is tried
   * again (read back first) only this long from now (e.g. `routes.pkbRest.reconcileAfterSec`).
   */
  reclaimAll(waitMsByRoute: Readonly<Record<string, number>> = {}): number {
    return this.reclaim(Number.MAX_SAFE_INTEGER, waitMsByRoute);
  }

  private reclaim(cutoffMs: number, waitMsByRoute: Readonly<Record<string, number>>): number {
    const waits = JSON.stringify(
      Object.fromEntries(Object.entries(waitMsByRoute).filter(([, ms]) => Number.isFinite(ms) && ms > 0)),
    );
    const now = this.options.timebase.nowMs();
    const n = this.stmts.reclaim.run({ cutoff: cutoffMs, now, waits }).changes;
    if (n > 0) this.refreshAmbiguousAlert();
    return n;
  }

  /**
   * Re-queues dead letters by hand (after investigation): one id, one route, or all. Naming one id
   * that is not a dead letter is an error (`OUTBOX_STATE`): an ambiguous row is settled with
   * `resolveAmbiguous`, never blindly re-queued.
   */
  retryDead(filter: { id?: number; route?: string } = {}): number {
    const n = this.stmts.retryDead.run({
      now: this.options.timebase.nowMs(),
      id: filter.id ?? null,
      route: filter.route ?? null,
    }).changes;
    if (filter.id !== undefined && n === 0)
      this.wrongState(filter.id, "dead", "outbox resolve for ambiguous rows");
    return n;
  }

  /**
   * A person has checked the record: `delivered` (the reading is there) or `resend` (it is not: send
   * it again). Only an `ambiguous` row can be resolved; anything else is `OUTBOX_STATE`.
   */
  resolveAmbiguous(id: number, as: "delivered" | "resend"): void {
    const now = as === "delivered" ? this.options.clock.nowMs() : this.options.timebase.nowMs();
    const stmt = as === "delivered" ? this.stmts.resolveDelivered : this.stmts.resolveResend;
    if (stmt.run({ id, now }).changes === 0)
      this.wrongState(id, "ambiguous", "outbox retry for dead letters");
    this.refreshAmbiguousAlert();
  }

  private wrongState(id: number, wanted: AttentionState, hint: string): never {
    const state = this.stmts.stateOf.get(id) as string | undefined;
    if (state === undefined) throw new HubError("OUTBOX_STATE", `there is no outbox row ${id}`);
    throw new HubError("OUTBOX_STATE", `outbox row ${id} is ${state}, not ${wanted} (see ${hint})`);
  }

  /**
   * Raises `AMBIGUOUS_DELIVERY` while any row is ambiguous (no PHI: counts only), clears it after.
   * Best effort: it runs after the rows' own transaction has committed, so a storage error here must
   * not make the caller believe the completion failed; housekeeping refreshes it again.
   */
  refreshAmbiguousAlert(): void {
    const alerts = this.options.alerts;
    if (!alerts) return;
    let n: number;
    try {
      n = this.stmts.ambiguousCount.get() as number;
    } catch {
      return;
    }
    if (n === 0) alerts.clear(AMBIGUOUS_ALERT);
    else
      alerts.raise(
        AMBIGUOUS_ALERT,
        `${n} deliver${n === 1 ? "y has" : "ies have"} an unknown outcome: check the record in PKB, then run 'pkb-hub outbox resolve --id N --as delivered|resend'`,
        this.options.clock.nowMs(),
      );
  }

  /** Rows waiting for a person, oldest first (the newest `limit`). */
  rowsInState(state: AttentionState, limit = 100): DeadLetter[] {
    return (
      this.db
        .prepare(
          `SELECT id, route, patient, attempts, reason, created_ms AS createdMs, done_ms AS doneMs
           FROM outbox WHERE state = ? ORDER BY id DESC LIMIT ?`,
        )
        .all(state, limit) as DeadLetter[]
    ).reverse();
  }

  deadLetters(limit = 100): DeadLetter[] {
    return this.rowsInState("dead", limit);
  }
}
