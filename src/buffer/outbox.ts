import { randomUUID } from "node:crypto";
import type { Clock } from "../core/clock.js";
import { HubError } from "../core/errors.js";
import type { Reading } from "../core/reading.js";
import { type BackoffPolicy, backoffDelayMs } from "./backoff.js";
import type { Db } from "./db.js";

export type OutboxState = "held" | "pending" | "leased" | "delivered" | "dead";

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
  /** `retryAfterMs` (server said when) does not spend an attempt; `ambiguous`: the request may have arrived. */
  | { kind: "retry"; error: string; retryAfterMs?: number; ambiguous?: boolean }
  | { kind: "rejected"; reason: string };

export interface OutboxOptions {
  clock: Clock;
  backoff: BackoffPolicy;
  maxAttempts: number;
  leaseMs: number;
  random?: () => number;
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

export interface DeadLetter {
  id: number;
  route: string;
  patient: string;
  attempts: number;
  reason: string;
  createdMs: number;
  doneMs: number;
}

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
        `UPDATE outbox SET state = 'leased', lease_token = @token, lease_expires_ms = @expires
         WHERE id IN (SELECT id FROM outbox WHERE state = 'pending' AND route = @route AND available_ms <= @now
                      ORDER BY available_ms, id LIMIT @limit)
         RETURNING id, route, patient, attempts, ambiguous, reading_id, document_id`,
      ),
      claimIds: db.prepare(
        `UPDATE outbox SET state = 'leased', lease_token = @token, lease_expires_ms = @expires
         WHERE id IN (SELECT value FROM json_each(@ids)) AND state = 'pending'
         RETURNING id, route, patient, attempts, ambiguous, reading_id, document_id`,
      ),
      openPatients: db.prepare(
        `WITH RECURSIVE p(patient) AS (
           SELECT min(patient) FROM outbox WHERE route = @route AND state IN ('pending', 'leased')
           UNION ALL
           SELECT (SELECT min(patient) FROM outbox WHERE route = @route AND state IN ('pending', 'leased') AND patient > p.patient)
           FROM p WHERE p.patient IS NOT NULL)
         SELECT patient FROM p WHERE patient IS NOT NULL`,
      ),
      patientHead: db.prepare(
        `SELECT id, state, available_ms FROM outbox
         WHERE route = @route AND patient = @patient AND state IN ('pending', 'leased') ORDER BY id LIMIT @limit`,
      ),
      readingBody: db.prepare("SELECT body FROM readings WHERE id = ?").pluck(),
      documentBody: db.prepare("SELECT body FROM documents WHERE id = ?").pluck(),
      delivered: db.prepare(
        `UPDATE outbox SET state = 'delivered', done_ms = @now, lease_token = NULL, lease_expires_ms = NULL, last_error = NULL
         WHERE id = @id AND lease_token = @token AND state = 'leased'`,
      ),
      retry: db.prepare(
        `UPDATE outbox SET state = 'pending', lease_token = NULL, lease_expires_ms = NULL, attempts = @attempts,
           available_ms = @available, last_error = @error, ambiguous = max(ambiguous, @ambiguous)
         WHERE id = @id AND lease_token = @token AND state = 'leased'`,
      ),
      dead: db.prepare(
        `UPDATE outbox SET state = 'dead', lease_token = NULL, lease_expires_ms = NULL, attempts = @attempts,
           dead_reason = @reason, done_ms = @now, ambiguous = max(ambiguous, @ambiguous)
         WHERE id = @id AND lease_token = @token AND state = 'leased'`,
      ),
      attemptsOf: db
        .prepare("SELECT attempts FROM outbox WHERE id = ? AND lease_token = ? AND state = 'leased'")
        .pluck(),
      reclaim: db.prepare(
        `UPDATE outbox SET state = 'pending', lease_token = NULL, lease_expires_ms = NULL, ambiguous = 1,
           last_error = 'lease expired: the agent stopped or stalled while sending'
         WHERE state = 'leased' AND lease_expires_ms <= @now`,
      ),
      extend: db.prepare(
        "UPDATE outbox SET lease_expires_ms = @expires WHERE lease_token = @token AND state = 'leased'",
      ),
      retryDead: db.prepare(
        `UPDATE outbox SET state = 'pending', attempts = 0, available_ms = @now, dead_reason = NULL, done_ms = NULL,
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
    const now = this.options.clock.nowMs();
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
   * with a row in flight or waiting for backoff is skipped, so nothing overtakes an earlier reading.
   */
  claimOrdered(route: string, perPatient: number, maxPatients = 8, leaseMs = this.options.leaseMs): Lease {
    const now = this.options.clock.nowMs();
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

  /** Finishes leased rows. Returns how many still held the lease (a row whose lease expired is not touched). */
  complete(token: string, ids: readonly number[], outcome: Outcome): number {
    const now = this.options.clock.nowMs();
    return this.db.transaction(() => {
      let done = 0;
      for (const id of ids) done += this.completeOne(token, id, outcome, now);
      return done;
    })();
  }

  private completeOne(token: string, id: number, outcome: Outcome, now: number): number {
    if (outcome.kind === "delivered") return this.stmts.delivered.run({ id, token, now }).changes;
    const attemptsBefore = this.stmts.attemptsOf.get(id, token) as number | undefined;
    if (attemptsBefore === undefined) return 0;
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
    if (outcome.retryAfterMs !== undefined) {
      // The server told us when: waiting is not a failed attempt.
      const available = now + Math.max(0, outcome.retryAfterMs);
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
    const available = now + backoffDelayMs(attempts, this.options.backoff, this.random);
    return this.stmts.retry.run({ id, token, attempts, available, error: outcome.error, ambiguous }).changes;
  }

  /** Keeps a long send's lease alive. */
  extend(token: string, leaseMs = this.options.leaseMs): number {
    return this.stmts.extend.run({ token, expires: this.options.clock.nowMs() + leaseMs }).changes;
  }

  /** Returns rows whose lease expired (a crash or stall) to pending, marked ambiguous: they may have been sent. */
  reclaimExpired(nowMs = this.options.clock.nowMs()): number {
    return this.stmts.reclaim.run({ now: nowMs }).changes;
  }

  /** At start-up every lease belongs to a dead process: reclaim them all. */
  reclaimAll(): number {
    return this.reclaimExpired(Number.MAX_SAFE_INTEGER);
  }

  /** Re-queues dead letters by hand (after investigation): one id, one route, or all. */
  retryDead(filter: { id?: number; route?: string } = {}): number {
    return this.stmts.retryDead.run({
      now: this.options.clock.nowMs(),
      id: filter.id ?? null,
      route: filter.route ?? null,
    }).changes;
  }

  deadLetters(limit = 100): DeadLetter[] {
    return (
      this.db
        .prepare(
          `SELECT id, route, patient, attempts, dead_reason AS reason, created_ms AS createdMs, done_ms AS doneMs
           FROM outbox WHERE state = 'dead' ORDER BY id DESC LIMIT ?`,
        )
        .all(limit) as DeadLetter[]
    ).reverse();
  }
}
