import type { Clock } from "../core/clock.js";
import type { Db } from "./db.js";

/** Where the timebase of the current boot is kept (table `kv`). */
const KEY = "buffer.timebase";

interface Stored {
  bootId: string;
  /** Buffer time = monotonic time + offsetMs, for this boot. */
  offsetMs: number;
  /** A recent (buffer time, wall time) pair, to bridge the next reboot. */
  lastMs: number;
  lastWallMs: number;
}

/**
 * The time leases, backoff and Retry-After waits are measured in ("buffer time", ms). Within one
 * boot it is CLOCK_MONOTONIC plus a constant kept per boot id, so an NTP step of the wall clock in
 * either direction neither expires a lease early (a second send) nor strands a row until the wall
 * clock catches up. Across a reboot monotonic time restarts, so the new boot's constant is chosen
 * to continue from the last recorded buffer time plus the wall-clock time that passed since it was
 * recorded (never less than zero: a wall clock that went back, e.g. an RTC-less Pi booting at its
 * last saved time, makes deadlines wait their remaining time, never longer). The first boot of a
 * buffer starts at the wall time, so deadlines stored before this timebase keep their meaning.
 *
 * Every deadline in the outbox (`available_ms`, `lease_expires_ms`) is in buffer time; the wall
 * clock only stamps readings, completion times (`done_ms`) and retention.
 */
export class BufferTimebase {
  private readonly offsetMs: number;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {
    this.offsetMs = this.adopt();
  }

  nowMs(): number {
    return this.clock.monotonicMs() + this.offsetMs;
  }

  /** Records a recent (buffer, wall) pair so the next boot can bridge the gap; best effort (the disk may be full). */
  checkpoint(): void {
    try {
      this.write({
        bootId: this.clock.bootId,
        offsetMs: this.offsetMs,
        lastMs: this.nowMs(),
        lastWallMs: this.clock.nowMs(),
      });
    } catch {
      // The pair is only a hint for the next boot; an older one merely makes deadlines wait their time.
    }
  }

  /** This boot's offset: the stored one, or a new one bridging from the previous boot (first writer wins). */
  private adopt(): number {
    const mono = this.clock.monotonicMs();
    const wall = this.clock.nowMs();
    try {
      return this.db
        .transaction(() => {
          const stored = this.read();
          if (stored?.bootId === this.clock.bootId) return stored.offsetMs;
          const start = stored === undefined ? wall : stored.lastMs + Math.max(0, wall - stored.lastWallMs);
          const offsetMs = start - mono;
          this.write({ bootId: this.clock.bootId, offsetMs, lastMs: start, lastWallMs: wall });
          return offsetMs;
        })
        .immediate();
    } catch {
      // Read-only or full disk: still monotonic within this process, starting at the wall time.
      return wall - mono;
    }
  }

  private read(): Stored | undefined {
    const raw = this.db.prepare("SELECT v FROM kv WHERE k = ?").pluck().get(KEY) as string | undefined;
    try {
      // Missing (undefined), unparsable or incomplete: as if this buffer had no timebase yet.
      const s = JSON.parse(raw as string) as Partial<Stored>;
      const finite = [s.offsetMs, s.lastMs, s.lastWallMs].every(
        (n) => typeof n === "number" && Number.isFinite(n),
      );
      return typeof s.bootId === "string" && finite ? (s as Stored) : undefined;
    } catch {
      return undefined;
    }
  }

  private write(s: Stored): void {
    this.db
      .prepare(
        "INSERT INTO kv (k, v, updated_ms) VALUES (?, ?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v, updated_ms = excluded.updated_ms",
      )
      .run(KEY, JSON.stringify(s), s.lastWallMs);
  }
}
