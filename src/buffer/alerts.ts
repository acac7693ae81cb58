import type { Db } from "./db.js";

export interface Alert {
  code: string;
  message: string;
  raisedMs: number;
}

export type AlertListener = (alert: Alert, active: boolean) => void;

/**
 * Alert state (buffer full, disk full, corrupt file moved aside, …). Kept in memory and mirrored
 * in the database so `outbox list` and health show it; mirroring is best effort because the disk
 * may be the very thing that is full.
 */
export class Alerts {
  private readonly active = new Map<string, Alert>();

  constructor(
    private readonly db: Db,
    private readonly listener: AlertListener = () => {},
  ) {
    for (const row of db.prepare("SELECT code, message, raised_ms FROM alerts").all() as Array<{
      code: string;
      message: string;
      raised_ms: number;
    }>) {
      this.active.set(row.code, { code: row.code, message: row.message, raisedMs: row.raised_ms });
    }
  }

  raise(code: string, message: string, nowMs: number): void {
    const current = this.active.get(code);
    if (current?.message === message) return;
    // An alert whose message changes (a count, a reason) is the same alert: it keeps the time it was
    // first raised (how long it has been active), as the stored row does.
    const alert = { code, message, raisedMs: current?.raisedMs ?? nowMs };
    this.active.set(code, alert);
    try {
      this.db
        .prepare(
          "INSERT INTO alerts (code, message, raised_ms) VALUES (?, ?, ?) ON CONFLICT(code) DO UPDATE SET message = excluded.message",
        )
        .run(code, message, nowMs);
    } catch {
      // The disk may be full: the alert still lives in memory and reaches health/MQTT.
    }
    this.listener(alert, true);
  }

  clear(code: string): void {
    const alert = this.active.get(code);
    if (!alert) return;
    this.active.delete(code);
    try {
      this.db.prepare("DELETE FROM alerts WHERE code = ?").run(code);
    } catch {
      // best effort, as above
    }
    this.listener(alert, false);
  }

  has(code: string): boolean {
    return this.active.has(code);
  }

  list(): Alert[] {
    return [...this.active.values()];
  }
}
