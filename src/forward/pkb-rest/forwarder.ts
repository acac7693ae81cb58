import type { HubBuffer } from "../../buffer/buffer.js";
import type { Claimed, Lease } from "../../buffer/outbox.js";
import { endpointProblem } from "../../config/url.js";
import type { Clock } from "../../core/clock.js";
import { HubError, isHubError, messageOf } from "../../core/errors.js";
import type { Logger } from "../../core/log.js";
import { Limiter } from "../limiter.js";
import { DeliveryLoop, type Settled } from "../loop.js";
import { requestSignal } from "../request-signal.js";
import { type Answer, classify } from "./classify.js";
import {
  listingHolds,
  listingPath,
  type PkbMeasurementBody,
  pkbMeasurementJson,
  toPkbMeasurement,
} from "./measurement-map.js";

/** Tokens per patient. The real one (OAuth link, encrypted store) and test doubles implement this. */
export interface TokenProvider {
  /** A valid access token; throws RELINK_NEEDED when the patient's link was revoked or expired. */
  accessToken(patient: string): Promise<string>;
  /** Called after a 401 with the token PKB refused: refresh (one refresh at a time) and return the new one. */
  refresh(patient: string, refused: string): Promise<string>;
  /** False while the patient has no link that could give a token (never linked, or must re-link). */
  usable?(patient: string): boolean;
}

export interface PkbRestForwarderOptions {
  buffer: HubBuffer;
  clock: Clock;
  logger: Logger;
  baseUrl: string;
  tokens: TokenProvider;
  fetch: typeof fetch;
  concurrency: number;
  requestTimeoutMs: number;
  idleMs?: number;
  /**
   * What to do with a measurement that may have reached PKB without a readable answer (a timeout, a
   * reset, an unreadable 2xx): `reconcile` (default) reads the patient's measurements back before any
   * re-send and sends again only when it is not there; `hold` leaves it `ambiguous` for a person;
   * `resend` sends it again (at least once: PKB does not de-duplicate).
   */
  onAmbiguous?: "reconcile" | "hold" | "resend";
  /**
   * With `reconcile`: the read-back comes no sooner than this after a POST without a readable answer
   * (default 60), so a request PKB stores late is found instead of sent twice. The row waits in the
   * outbox (not-before time); other rows go meanwhile.
   */
  reconcileAfterSec?: number;
  /**
   * The route's patients. While none of them has a usable link nothing is claimed, so readings
   * wait in the outbox untouched (no attempt, no churn) and go as soon as a link is made.
   */
  patients?: readonly string[];
}

/**
 * While a patient must re-link, their readings wait (no attempt spent) and are looked at again after
 * this, or as soon as the link is usable again (`relinked`).
 */
const RELINK_RECHECK_MS = 60_000;
/** The outbox error of a reading waiting for its patient's re-link. */
const RELINK_WAIT = "patient must re-link the hub to PKB";
/** The token endpoint or the token store failed: the measurement was never sent, so no attempt is spent. */
const TOKEN_RETRY_MS = 30_000;
/** As the config's `routes.pkbRest.reconcileAfterSec` default. */
const DEFAULT_RECONCILE_AFTER_SEC = 60;
/** Rows claimed per request slot: one claim commit serves this many requests. */
const BATCH_PER_SLOT = 4;
const MAX_BATCH = 64;
/** One lease sending, the next one claimed and ready, so the slots never wait for a claim. */
const LEASES_IN_FLIGHT = 2;
const NOTHING: Lease = { token: "", expiresMs: 0, rows: [] };
const NOT_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);

/**
 * No usable token: the measurement never left the hub. A patient who must re-link waits; a failing
 * token endpoint or unreadable token store is retried later. Neither spends an attempt, so readings
 * are never dead-lettered because of an authorisation problem.
 */
function tokenFailure(err: unknown, step: string): Settled["outcome"] {
  if (isHubError(err, "RELINK_NEEDED")) {
    return { kind: "retry", error: RELINK_WAIT, retryAfterMs: RELINK_RECHECK_MS };
  }
  const why = isHubError(err) ? err.code : "unexpected error";
  return { kind: "retry", error: `${step} failed: ${why}`, retryAfterMs: TOKEN_RETRY_MS };
}

/** The PKB REST route: one measurement per request, with the patient's own token. */
export class PkbRestForwarder {
  readonly route = "pkb-rest";
  private readonly loop: DeliveryLoop;
  private readonly limiter: Limiter;
  /** The code of the token problem last seen, so it is logged once, not once per reading. */
  private tokenTrouble: string | undefined;

  constructor(private readonly o: PkbRestForwarderOptions) {
    // The patient's bearer token goes with every measurement: never in cleartext beyond loopback.
    const problem = endpointProblem(o.baseUrl);
    if (problem) throw new HubError("CONFIG_INVALID", `routes.pkbRest.baseUrl ${problem}`);
    this.limiter = new Limiter(o.concurrency);
    this.loop = new DeliveryLoop({
      route: this.route,
      outbox: o.buffer.outbox,
      logger: o.logger,
      // A batch per claim (one commit for many rows), and the next batch claimed while one is in
      // flight: the shared limiter keeps `concurrency` requests going across both.
      claim: (outbox) =>
        this.anyoneLinked()
          ? outbox.claim(this.route, Math.min(o.concurrency * BATCH_PER_SLOT, MAX_BATCH))
          : NOTHING,
      send: (lease, signal) => this.send(lease, signal),
      concurrency: LEASES_IN_FLIGHT,
      idleMs: o.idleMs ?? 1000,
    });
  }

  private anyoneLinked(): boolean {
    const { patients, tokens } = this.o;
    if (!patients || !tokens.usable) return true;
    // Every patient is looked at (not just up to the first linked one): each check keeps its alert current.
    return patients.map((p) => tokens.usable?.(p) === true).includes(true);
  }

  start(): void {
    this.loop.start();
  }
  poke(): void {
    this.loop.poke();
  }
  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** The patient's link is usable again (a technician re-linked): their waiting readings go now, not after the recheck. */
  relinked(patient: string): void {
    try {
      if (this.o.buffer.outbox.wake(this.route, patient, RELINK_WAIT) > 0) this.loop.poke();
    } catch (err) {
      // Best effort (called while a link is checked): the rows still go at their recheck.
      this.o.logger.warn(
        { code: isHubError(err) ? err.code : "storage" },
        "readings waiting for the re-link not woken",
      );
    }
  }

  private async send(lease: Lease, signal: AbortSignal): Promise<Settled[]> {
    const outbox = this.o.buffer.outbox;
    const each = await Promise.all(
      lease.rows.map((row) =>
        this.limiter.run(async (): Promise<Settled | undefined> => {
          // A lease lost meanwhile (expired, reclaimed): its rows may be someone else's, send nothing.
          if (signal.aborted || !outbox.keepAlive(lease)) return undefined;
          return { ids: [row.id], outcome: await this.sendOne(row, signal) };
        }),
      ),
    );
    return each.filter((s): s is Settled => s !== undefined);
  }

  private async sendOne(row: Claimed, signal: AbortSignal): Promise<Settled["outcome"]> {
    if (row.item.type !== "reading")
      return { kind: "rejected", reason: "documents are not sent over the REST route" };
    let measurement: PkbMeasurementBody;
    let body: string;
    try {
      measurement = toPkbMeasurement(row.item.reading);
      body = pkbMeasurementJson(measurement);
    } catch (err) {
      return { kind: "rejected", reason: messageOf(err) };
    }
    let token: string;
    try {
      token = await this.o.tokens.accessToken(row.patient);
    } catch (err) {
      return this.tokenFailure(err, "token");
    }
    if (row.ambiguous && this.policy === "reconcile") {
      // An earlier attempt may have reached PKB: read the record back before sending anything again.
      const read = await this.authorized(row.patient, token, (t) =>
        this.request("GET", listingPath(measurement), undefined, t, signal),
      );
      if ("kind" in read) return read;
      token = read.token;
      const found = this.readBack(read.answer, measurement);
      if (found !== false) return found;
    }
    const sent = await this.authorized(row.patient, token, (t) =>
      this.request("POST", "/json/v1/measurements", body, t, signal),
    );
    if ("kind" in sent) return sent;
    this.tokenTrouble = undefined;
    const { answer } = sent;
    const outcome = this.afterPost(this.byPolicy(classify(answer, this.o.clock.nowMs())));
    if (outcome.kind !== "delivered") {
      this.o.logger.warn(
        { outcome: outcome.kind, status: "status" in answer ? answer.status : 0 },
        "measurement not delivered",
      );
    }
    return outcome;
  }

  private get policy(): "reconcile" | "hold" | "resend" {
    return this.o.onAmbiguous ?? "reconcile";
  }

  /**
   * Maybe-sent outcomes under the configured policy: `hold` parks them for a person; `reconcile` and
   * `resend` retry them (flagged ambiguous, so `reconcile` reads back before the next send).
   */
  private byPolicy(outcome: Settled["outcome"]): Settled["outcome"] {
    if (this.policy === "hold" && outcome.kind === "retry" && outcome.ambiguous) {
      return { kind: "ambiguous", reason: `${outcome.error}: PKB may have stored the measurement` };
    }
    if (this.policy !== "hold" && outcome.kind === "ambiguous") {
      return { kind: "retry", error: outcome.reason, ambiguous: true };
    }
    return outcome;
  }

  /**
   * A POST that may have reached PKB is read back only after `reconcileAfterSec`: a request that timed
   * out here may still be in PKB's queue, and a read-back before it lands would find nothing and send
   * the measurement again.
   */
  private afterPost(outcome: Settled["outcome"]): Settled["outcome"] {
    if (this.policy !== "reconcile" || outcome.kind !== "retry" || !outcome.ambiguous) return outcome;
    return { ...outcome, notBeforeMs: (this.o.reconcileAfterSec ?? DEFAULT_RECONCILE_AFTER_SEC) * 1000 };
  }

  /**
   * The read-back's answer: `delivered` when PKB already holds the measurement, `false` when it
   * certainly does not (send it), otherwise a retry that keeps the row ambiguous (never a blind re-send).
   */
  private readBack(answer: Answer, sent: PkbMeasurementBody): Settled["outcome"] | false {
    const failed = (why: string): Settled["outcome"] => ({
      kind: "retry",
      error: `read-back before re-sending failed: ${why}`,
      ambiguous: true,
    });
    if ("networkError" in answer) return failed(answer.networkError);
    if (answer.status < 200 || answer.status >= 300) {
      const outcome = classify(answer, this.o.clock.nowMs());
      return outcome.kind === "retry" && outcome.retryAfterMs !== undefined
        ? { ...outcome, ambiguous: true }
        : failed(`HTTP ${answer.status}`);
    }
    const holds = listingHolds(answer.body, sent);
    if (holds === undefined) return failed("the listing could not be read");
    if (holds) {
      this.o.logger.info({ outcome: "reconciled" }, "measurement already in the record: not sent again");
      return { kind: "delivered" };
    }
    return false;
  }

  /** One request with the patient's token; after a 401 the token is refreshed once and the request repeated. */
  private async authorized(
    patient: string,
    token: string,
    call: (token: string) => Promise<Answer>,
  ): Promise<{ answer: Answer; token: string } | Settled["outcome"]> {
    const answer = await call(token);
    if (!("status" in answer) || answer.status !== 401) return { answer, token };
    let fresh: string;
    try {
      fresh = await this.o.tokens.refresh(patient, token);
    } catch (err) {
      return this.tokenFailure(err, "refresh");
    }
    const again = await call(fresh);
    if ("status" in again && again.status === 401) return { kind: "retry", error: "HTTP 401 after refresh" };
    return { answer: again, token: fresh };
  }

  /** Logs a token problem once when it starts (not once per reading), then settles the row. */
  private tokenFailure(err: unknown, step: string): Settled["outcome"] {
    const code = isHubError(err) ? err.code : "INTERNAL";
    if (code !== "RELINK_NEEDED" && code !== this.tokenTrouble) {
      this.o.logger.warn({ code, step }, "no PKB access token: readings wait, no attempt spent");
    }
    this.tokenTrouble = code;
    return tokenFailure(err, step);
  }

  private async request(
    method: "GET" | "POST",
    path: string,
    body: string | undefined,
    token: string,
    signal: AbortSignal,
  ): Promise<Answer> {
    const call = requestSignal(signal, this.o.requestTimeoutMs);
    try {
      const res = await this.o.fetch(new URL(path, this.o.baseUrl), {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? { accept: "application/json" } : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body }),
        signal: call.signal,
      });
      // A body cut off after a 2xx reads as empty: the answer is then ambiguous, never "delivered".
      const text = await res.text().catch(() => "");
      return { status: res.status, retryAfter: res.headers.get("retry-after"), body: text };
    } catch (err) {
      const code = (err as { cause?: { code?: string } }).cause?.code;
      const timedOut = call.timedOut() || signal.aborted;
      const what = timedOut ? "request timed out" : `network error${code ? ` (${code})` : ""}`;
      // A refused connection never reached PKB; a timeout or reset may have.
      return { networkError: what, maybeSent: !(code && NOT_SENT.has(code)) };
    } finally {
      call.release();
    }
  }
}

export function relinkNeeded(patient: string): HubError {
  return new HubError("RELINK_NEEDED", `patient ${patient} must re-link the hub to PKB`);
}
