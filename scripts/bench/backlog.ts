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
