import type { Lease, Outbox, Outcome } from "../buffer/outbox.js";
import { HubError, messageOf, reasonOf } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import { Sleeper } from "../core/sleeper.js";

/** What a route answers for one send: an outcome for some of the leased rows. */
export interface Settled {
  ids: number[];
  outcome: Outcome;
}

/** One info line per batch a technician can follow: how many rows, and how each ended. No PHI. */
export function batchSummary(rows: number, settled: readonly Settled[]): Record<string, number> {
  const out: Record<string, number> = { rows, delivered: 0, retry: 0, rejected: 0, ambiguous: 0 };
  for (const s of settled) {
    const kind = s.outcome.kind === "retry" && s.outcome.ambiguous ? "ambiguous" : s.outcome.kind;
    out[kind] = (out[kind] ?? 0) + s.ids.length;
  }
  return out;
}

export interface DeliveryLoopOptions {
  route: string;
  outbox: Outbox;
  logger: Logger;
  /** Claims the next work: `outbox.claim(route, n)` or `outbox.claimOrdered(...)` for per-patient order. */
  claim: (outbox: Outbox) => Lease;
  /** Sends the leased rows and classifies every answer. Rows it leaves unsettled are retried later. */
  send: (lease: Lease, signal: AbortSignal) => Promise<Settled[]>;
  /** How many leases may be in flight at once. */
  concurrency: number;
  /** Poll interval when idle. */
  idleMs: number;
  /** Called after every settled lease (health, metrics). */
  onSettled?: (settled: Settled[]) => void;
  /**
   * On stop, how long sends in flight may take to finish before they are aborted (default 10 s,
   * inside systemd's TimeoutStopSec=30). A request cut off may already have been processed by
   * PKB: its rows would be sent again and could appear twice in the record.
   */
  stopGraceMs?: number;
}

/**
 * The shared driver of every route: claim → send → complete with the lease token. A send that
 * throws settles its rows as a retry (the error's code recorded), so nothing leased is forgotten;
 * a crash leaves the lease to expire and be reclaimed.
 */
export class DeliveryLoop {
  private running = false;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly sleeper = new Sleeper();
  private readonly abort = new AbortController();
  private readonly log: Logger;
  private loopDone: Promise<void> | undefined;

  constructor(private readonly options: DeliveryLoopOptions) {
    this.log = options.logger.child({ component: `forward-${options.route}` });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopDone = this.loop();
  }

  /** Ask for an immediate pass (new readings, flush command). */
  poke(): void {
    this.sleeper.wake();
  }

  private async loop(): Promise<void> {
    while (this.running) {
      let claimed = 0;
      while (this.running && this.inFlight.size < this.options.concurrency) {
        let lease: Lease;
        try {
          lease = this.options.claim(this.options.outbox);
        } catch (err) {
          this.log.error({ err }, "claim failed");
          break;
        }
        if (lease.rows.length === 0) break;
        claimed += lease.rows.length;
        const p = this.run(lease).finally(() => {
          this.inFlight.delete(p);
          this.sleeper.wake();
        });
        this.inFlight.add(p);
      }
      if (!this.running) break;
      await this.sleeper.sleep(
        claimed > 0 && this.inFlight.size < this.options.concurrency ? 0 : this.options.idleMs,
      );
    }
  }

  private async run(lease: Lease): Promise<void> {
    let settled: Settled[];
    try {
      settled = await this.options.send(lease, this.abort.signal);
    } catch (err) {
      const code = err instanceof HubError ? err.code : "INTERNAL";
      this.log.warn({ code, rows: lease.rows.length }, "send failed; will retry");
      // A route should settle rows itself; if it threw we cannot know whether the request left, so: ambiguous.
      const error = reasonOf(err, `${code}: ${messageOf(err)}`);
      const outcome = { kind: "retry", error, ambiguous: true } as const;
      settled = [{ ids: lease.rows.map((r) => r.id), outcome }];
    }
    const settledIds = new Set(settled.flatMap((s) => s.ids));
    const left = lease.rows.filter((r) => !settledIds.has(r.id)).map((r) => r.id);
    if (left.length > 0)
      settled.push({ ids: left, outcome: { kind: "retry", error: "not settled by the route" } });
    try {
      // One commit for the whole lease: every outcome is PKB's answer, recorded after it came.
      this.options.outbox.completeAll(lease.token, settled);
      this.log.info(batchSummary(lease.rows.length, settled), "delivery batch");
    } catch (err) {
      // Storage trouble: the lease will expire and the rows be reclaimed; nothing is lost.
      this.log.error({ err }, "could not record delivery outcome");
    }
    this.options.onSettled?.(settled);
  }

  /**
   * Stops claiming, lets sends in flight finish for up to `stopGraceMs`, then aborts the rest
   * (their rows are retried) and waits for them: no lease is left behind.
   */
  async stop(): Promise<void> {
    this.running = false;
    this.sleeper.wake();
    await this.loopDone;
    const grace = this.options.stopGraceMs ?? 10_000;
    if (this.inFlight.size > 0 && grace > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.inFlight]),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, grace);
        }),
      ]);
      clearTimeout(timer);
    }
    this.abort.abort(new HubError("TRANSPORT_CANCELED", "agent stopping"));
    await Promise.allSettled([...this.inFlight]);
  }
}
