import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";

/** Wall time before this is certainly wrong (the Pi has no RTC and boots in 1970 or at the last save). */
export const EARLIEST_PLAUSIBLE_MS = Date.UTC(2025, 0, 1);

export interface Clock {
  nowMs(): number;
  monotonicMs(): number;
  /** Whether the wall clock is synchronised; readings stamped while it is not are held. */
  isSynced(): boolean;
  /** Identifies this boot: monotonic times are only comparable within one boot. */
  readonly bootId: string;
}

export type SyncProbe = () => Promise<boolean>;

const TIMESYNCD_MARKER = "/run/systemd/timesync/synchronized";

/** Linux: the systemd-timesyncd marker file, then `timedatectl` (covers chrony/ntpd through timedated). */
export function linuxSyncProbe(
  run: (cmd: string, args: string[]) => Promise<string> = execText,
  exists: (p: string) => boolean = existsSync,
): SyncProbe {
  return async () => {
    if (exists(TIMESYNCD_MARKER)) return true;
    try {
      const out = await run("timedatectl", ["show", "-p", "NTPSynchronized", "--value"]);
      return out.trim() === "yes";
    } catch {
      return false;
    }
  };
}

function execText(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 3000 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });
}

let cachedBootId: string | undefined;

/** Identifies this boot of the machine (Linux boot_id); falls back to one per process. */
export function bootId(): string {
  if (cachedBootId === undefined) {
    try {
      cachedBootId = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    } catch {
      cachedBootId = `process-${process.pid}-${Date.now()}`;
    }
  }
  return cachedBootId;
}

export interface SystemClockOptions {
  /** `auto` probes the OS; `assume-synced` trusts the wall clock (containers, demo, dev machines). */
  mode: "auto" | "assume-synced";
  probe?: SyncProbe;
  onSyncChange?: (synced: boolean) => void;
  onListenerError?: (err: unknown) => void;
}

export class SystemClock implements Clock {
  readonly bootId = bootId();
  private synced = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly probe: SyncProbe;

  constructor(private readonly options: SystemClockOptions) {
    this.probe = options.probe ?? linuxSyncProbe();
  }

  nowMs(): number {
    return Date.now();
  }

  /** CLOCK_MONOTONIC: comparable across processes within one boot, unaffected by clock steps. */
  monotonicMs(): number {
    return Number(process.hrtime.bigint() / 1_000_000n);
  }

  isSynced(): boolean {
    return this.synced && this.nowMs() >= EARLIEST_PLAUSIBLE_MS;
  }

  /**
   * Never rejects: it runs from a timer, where a rejection would be unhandled. A probe that fails
   * counts as "not synchronised"; a listener that throws is reported through `onListenerError`.
   */
  async refresh(): Promise<boolean> {
    const was = this.isSynced();
    let synced = true;
    if (this.options.mode !== "assume-synced") {
      try {
        synced = await this.probe();
      } catch {
        synced = false;
      }
    }
    this.synced = synced;
    const now = this.isSynced();
    if (now !== was) {
      try {
        this.options.onSyncChange?.(now);
      } catch (err) {
        this.options.onListenerError?.(err);
      }
    }
    return now;
  }

  async start(intervalMs = 30000): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** A controllable clock for tests. */
export class FakeClock implements Clock {
  constructor(
    public wallMs = Date.UTC(2026, 10, 24, 12, 0, 0),
    public synced = true,
    public monoMs = 1_000_000,
    public readonly bootId = "test-boot",
  ) {}
  nowMs(): number {
    return this.wallMs;
  }
  monotonicMs(): number {
    return this.monoMs;
  }
  isSynced(): boolean {
    return this.synced;
  }
  advance(ms: number): void {
    this.wallMs += ms;
    this.monoMs += ms;
  }
}
