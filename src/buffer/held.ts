import type { Clock } from "../core/clock.js";
import type { Reading } from "../core/reading.js";
import type { Db } from "./db.js";

export interface ReleaseResult {
  released: number;
  unrecoverable: number;
}

const UNRECOVERABLE =
  "measurement time unknown: hub clock was not synchronised and the hub restarted before it was";

/**
 * Readings stamped by an unsynchronised hub clock wait in state `held`. Once the clock is
 * synchronised they are re-timed from the monotonic clock (same boot only) and released; those from
 * an earlier boot cannot be re-timed and become dead letters with the reason, never sent with a
 * wrong time. Work is done a chunk per transaction so that a large backlog never blocks the loop.
 */
export class HeldReadings {
  private readonly stmts;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly timebase: { nowMs(): number },
  ) {
    this.stmts = {
      pick: db.prepare(
        `SELECT o.id AS outboxId, r.id AS readingId, r.boot_id AS bootId, r.mono_ms AS monoMs, r.body AS body
         FROM outbox o JOIN readings r ON r.id = o.reading_id WHERE o.state = 'held' ORDER BY o.reading_id LIMIT ?`,
      ),
      dead: db.prepare(
        "UPDATE outbox SET state = 'dead', done_ms = @now, reason = @reason WHERE id = @id AND state = 'held'",
      ),
      retime: db.prepare("UPDATE readings SET measured_at = ?, time_source = 'hub', body = ? WHERE id = ?"),
      release: db.prepare(
        "UPDATE outbox SET state = 'pending', available_ms = @available WHERE id = @id AND state = 'held'",
      ),
    };
  }

  /**
   * Releases (or dead-letters) up to `limit` held rows in one transaction, stopping early once
   * `budgetMs` has passed (a slow SD card must not stretch a chunk); nothing while the clock is
   * unsynchronised.
   */
  releaseChunk(limit: number, budgetMs = Number.POSITIVE_INFINITY): ReleaseResult {
    if (!this.clock.isSynced()) return { released: 0, unrecoverable: 0 };
    return this.db.transaction(() => {
      const started = performance.now();
      const now = this.clock.nowMs();
      const mono = this.clock.monotonicMs();
      const available = this.timebase.nowMs();
      const rows = this.stmts.pick.all(limit) as Array<{
        outboxId: number;
        readingId: number;
        bootId: string | null;
        monoMs: number | null;
        body: string;
      }>;
      let released = 0;
      let unrecoverable = 0;
      for (const row of rows) {
        if (released + unrecoverable > 0 && performance.now() - started > budgetMs) break;
        if (row.bootId !== this.clock.bootId || row.monoMs === null) {
          unrecoverable += this.stmts.dead.run({ now, reason: UNRECOVERABLE, id: row.outboxId }).changes;
          continue;
        }
        const reading = JSON.parse(row.body) as Reading;
        const offsetMs = Date.parse(reading.measuredAt) - Date.parse(reading.receivedAt);
        const receivedMs = now - (mono - row.monoMs);
        reading.receivedAt = new Date(receivedMs).toISOString();
        reading.measuredAt = new Date(receivedMs + offsetMs).toISOString();
        reading.timeSource = "hub";
        reading.flags = [...reading.flags, "time-corrected-after-sync"];
        this.stmts.retime.run(reading.measuredAt, JSON.stringify(reading), row.readingId);
        released += this.stmts.release.run({ available, id: row.outboxId }).changes;
      }
      return { released, unrecoverable };
    })();
  }
}
