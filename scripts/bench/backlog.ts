import Database from "better-sqlite3";
import { bufferFile, openBuffer } from "../../src/agent/agent.js";
import type { Config } from "../../src/config/schema.js";
import { SystemClock } from "../../src/core/clock.js";
import { finishReading } from "../../src/core/finish.js";
import { silentLogger } from "../../src/core/log.js";
import type { Reading } from "../../src/core/reading.js";
import { sleep } from "./common.js";
import { decodeForBench } from "./frames.js";

/** Stores `n` distinct blood-pressure readings of `patient` through the real ingest path, then closes the buffer. */
export async function seedBacklog(config: Config, patient: string, n: number, chunk = 5000): Promise<void> {
  const clock = new SystemClock({ mode: "assume-synced" });
  const buffer = openBuffer(config, clock, silentLogger());
  try {
    for (let from = 0; from < n; from += chunk) {
      const readings: Reading[] = [];
      for (let i = from; i < Math.min(n, from + chunk); i++) {
        for (const draft of decodeForBench(i))
          readings.push(
            finishReading(draft, {
              deviceId: "bench-bp",
              driver: "ble-blood-pressure",
              patient,
              timeZone: config.hub.timeZone,
              clock,
              receivedAtMs: clock.nowMs(),
            }),
          );
      }
      await buffer.ingest(readings);
    }
  } finally {
    buffer.close();
  }
}

/** The stored readings in outbox order (what the agent will send), read outside any timing. */
export function storedReadings(config: Config): Reading[] {
  const db = new Database(bufferFile(config), { readonly: true });
  try {
    const bodies = db
      .prepare("SELECT r.body FROM outbox o JOIN readings r ON r.id = o.reading_id ORDER BY o.id")
      .pluck()
      .all() as string[];
    return bodies.map((b) => JSON.parse(b) as Reading);
  } finally {
    db.close();
  }
}

/** Resolves when the buffer has no unsent row left (polled on its own read-only connection, via an index). */
export async function drained(config: Config, everyMs = 100): Promise<void> {
  const db = new Database(bufferFile(config), { readonly: true });
  const open = db.prepare("SELECT EXISTS(SELECT 1 FROM outbox WHERE state IN ('held', 'pending', 'leased'))");
  try {
    while (open.pluck().get() === 1) await sleep(everyMs);
  } finally {
    db.close();
  }
}

/** Wall-clock ms of the last delivery recorded (its commit), so polling granularity does not count. */
export function lastDeliveredMs(config: Config): number {
  const db = new Database(bufferFile(config), { readonly: true });
  try {
    return db.prepare("SELECT max(done_ms) FROM outbox WHERE state = 'delivered'").pluck().get() as number;
  } finally {
    db.close();
  }
}

/** Counts of the outbox by state (to check the drain delivered everything). */
export function outboxStates(config: Config): Record<string, number> {
  const db = new Database(bufferFile(config), { readonly: true });
  try {
    const rows = db.prepare("SELECT state, count(*) AS n FROM outbox GROUP BY state").all() as Array<{
      state: string;
      n: number;
    }>;
    return Object.fromEntries(rows.map((r) => [r.state, r.n]));
  } finally {
    db.close();
  }
}

/**
 * Writes `n` pending readings straight into the buffer's tables (after the agent's migrations),
 * in large transactions: a backlog as a long outage leaves it, without going through ingest.
 */
export function seedBacklogRaw(config: Config, patient: string, n: number): void {
  openBuffer(config, new SystemClock({ mode: "assume-synced" }), silentLogger()).close();
  const db = new Database(bufferFile(config));
  db.pragma("journal_mode = WAL");
  const clock = new SystemClock({ mode: "assume-synced" });
  const templates = Array.from({ length: 60 }, (_, i) =>
    finishReading(decodeForBench(i)[0] as NonNullable<ReturnType<typeof decodeForBench>[0]>, {
      deviceId: "bench-bp",
      driver: "ble-blood-pressure",
      patient,
      timeZone: config.hub.timeZone,
      clock,
      receivedAtMs: clock.nowMs(),
    }),
  );
  const insR = db.prepare(
    `INSERT INTO readings (key, patient, device_id, kind, measured_at, time_source, body, created_ms)
     VALUES (?, ?, 'bench-bp', 'blood-pressure', ?, 'device', ?, ?)`,
  );
  const insO = db.prepare(
    "INSERT INTO outbox (reading_id, route, patient, state, available_ms, created_ms) VALUES (?, ?, ?, 'pending', 0, ?)",
  );
  const route = config.patients.find((p) => p.key === patient)?.route ?? "pkb-rest";
  const now = Date.now();
  const txn = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const t = templates[i % templates.length] as Reading;
      const reading = { ...t, key: `${t.key.slice(0, 40)}-${i}` };
      const id = insR.run(
        reading.key,
        patient,
        reading.measuredAt,
        JSON.stringify(reading),
        now,
      ).lastInsertRowid;
      insO.run(id, route, patient, now);
    }
  });
  try {
    for (let i = 0; i < n; i += 50_000) txn(i, Math.min(n, i + 50_000));
    db.pragma("wal_checkpoint(TRUNCATE)");
  } finally {
    db.close();
  }
}
