import { existsSync } from "node:fs";
import Database from "better-sqlite3";
import { bufferFile } from "../agent/agent.js";
import type { Alert } from "../buffer/alerts.js";
import type { Db } from "../buffer/db.js";
import { usedBytes } from "../buffer/retention.js";
import { type BufferStats, buildStats } from "../buffer/stats.js";
import type { Config } from "../config/schema.js";
import { HubError, messageOf } from "../core/errors.js";

export interface Delivery {
  id: number;
  route: string;
  patient: string;
  deliveredAt: string;
  device: string | null;
  kind: string | null;
}

/**
 * The buffer as `status` and `doctor` read it while the agent may be running: a read-only
 * connection that never creates a buffer, a disk reserve or a migration (so a command run by root
 * leaves nothing root-owned behind: SQLite gives the WAL files it makes the database file's owner).
 * Queries only; no PHI (device ids, patient keys, kinds, counts, times).
 */
export class BufferView {
  private constructor(
    readonly db: Db,
    private readonly maxBytes: number,
  ) {}

  /** Undefined when the agent has not made a buffer yet. */
  static open(config: Config): BufferView | undefined {
    const file = bufferFile(config);
    if (!existsSync(file)) return undefined;
    try {
      return new BufferView(
        new Database(file, { readonly: true, fileMustExist: true }),
        config.buffer.maxSize,
      );
    } catch (err) {
      throw new HubError("STORAGE_IO", `cannot read the buffer ${file}: ${messageOf(err)}`, { cause: err });
    }
  }

  alerts(): Alert[] {
    return this.db
      .prepare("SELECT code, message, raised_ms AS raisedMs FROM alerts ORDER BY code")
      .all() as Alert[];
  }

  stats(nowMs: number): BufferStats {
    return buildStats(this.db, nowMs, this.alerts(), usedBytes(this.db), this.maxBytes);
  }

  kvGet(k: string): string | undefined {
    return (
      (this.db.prepare("SELECT v FROM kv WHERE k = ?").pluck().get(k) as string | undefined) ?? undefined
    );
  }

  /** When each device last had a reading stored (epoch ms). */
  lastReadingByDevice(): Map<string, number> {
    const rows = this.db
      .prepare("SELECT device_id AS device, MAX(created_ms) AS ms FROM readings GROUP BY device_id")
      .all() as Array<{ device: string; ms: number }>;
    return new Map(rows.map((r) => [r.device, r.ms]));
  }

  /** The last `n` deliveries, newest first. */
  lastDeliveries(n = 5): Delivery[] {
    const rows = this.db
      .prepare(
        `SELECT o.id, o.route, o.patient, o.done_ms AS doneMs, r.device_id AS device, COALESCE(r.kind, d.kind) AS kind
           FROM outbox o LEFT JOIN readings r ON r.id = o.reading_id LEFT JOIN documents d ON d.id = o.document_id
          WHERE o.state = 'delivered' AND o.done_ms IS NOT NULL ORDER BY o.done_ms DESC, o.id DESC LIMIT ?`,
      )
      .all(n) as Array<{
      id: number;
      route: string;
      patient: string;
      doneMs: number;
      device: string | null;
      kind: string | null;
    }>;
    return rows.map((r) => ({
      id: r.id,
      route: r.route,
      patient: r.patient,
      deliveredAt: new Date(r.doneMs).toISOString(),
      device: r.device,
      kind: r.kind,
    }));
  }

  close(): void {
    this.db.close();
  }
}
