import { join } from "node:path";
import Database from "better-sqlite3";
import { migrate } from "../../src/buffer/db.js";
import { FakeClock } from "../../src/core/clock.js";
import { finishReading } from "../../src/core/finish.js";
import type { Reading } from "../../src/core/reading.js";
import { tempDir } from "../../test/support/tmp.js";
import { benchBuffer, flags, intFlag, percentile, report, round } from "./common.js";
import { decodeForBench } from "./frames.js";

const TIME_ZONE = "Europe/London";

/**
 * Agent path: frame → driver decode → finishReading → HubBuffer.ingest (group commit, WAL, FULL),
 * with several producers in flight as devices would be. Raw path: the same rows (prepared before
 * timing), same schema and pragmas, same rows per transaction, plain prepared INSERTs. The two run
 * in alternating rounds so disk noise hits both alike.
 */
export async function benchIngest(args: string[]): Promise<void> {
  const f = flags(args);
  const total = intFlag(f, "readings", 200_000);
  const chunk = intFlag(f, "chunk", 25);
  const producers = intFlag(f, "producers", 8);
  const rounds = intFlag(f, "rounds", 10);
  const tmp = tempDir("pkb-hub-bench-");
  const clock = new FakeClock(Date.now());
  const buffer = benchBuffer(join(tmp.dir, "agent", "buffer.db"), clock, 2);
  const raw = new Database(join(tmp.dir, "raw.db"));
  raw.pragma("journal_mode = WAL");
  raw.pragma("synchronous = FULL");
  raw.pragma("foreign_keys = ON");
  migrate(raw);
  const insR = raw.prepare(
    `INSERT INTO readings (key, patient, device_id, kind, measured_at, time_source, body, created_ms)
     VALUES (?, 'p1', 'raw', 'blood-pressure', ?, 'device', ?, ?)`,
  );
  const insO = raw.prepare(
    "INSERT INTO outbox (reading_id, route, patient, state, available_ms, created_ms) VALUES (?, 'pkb-rest', 'p1', 'pending', ?, ?)",
  );
  type Row = { key: string; measuredAt: string; body: string };
  const rawTxn = raw.transaction((rows: Row[]) => {
    for (const [i, row] of rows.entries())
      insO.run(insR.run(row.key, row.measuredAt, row.body, i).lastInsertRowid, i, i);
  });

  const decodeAndFinish = (i: number, deviceId: string): Reading[] =>
    decodeForBench(i).map((draft) =>
      finishReading(draft, {
        deviceId,
        driver: "bench",
        patient: "p1",
        timeZone: TIME_ZONE,
        clock,
        receivedAtMs: clock.nowMs() + i,
      }),
    );

  const latencies: number[] = [];
  let agentMs = 0;
  let rawMs = 0;
  try {
    const perRound = Math.ceil(total / rounds);
    for (let r = 0; r < rounds; r++) {
      const from = r * perRound;
      const to = Math.min(total, from + perRound);
      // Agent: producers decode, finish and ingest chunks concurrently.
      const commitsBefore = buffer.commits;
      let next = from;
      const producer = async (id: number) => {
        while (next < to) {
          const start = next;
          next = Math.min(to, next + chunk);
          const readings: Reading[] = [];
          for (let i = start; i < next; i++) readings.push(...decodeAndFinish(i, `bench-${id}`));
          latencies.push((await buffer.ingest(readings)).durableMs);
        }
      };
      const t0 = performance.now();
      await Promise.all(Array.from({ length: producers }, (_, id) => producer(id)));
      agentMs += performance.now() - t0;
      const batch = Math.max(1, Math.round((to - from) / (buffer.commits - commitsBefore)));
      // Raw: the same rows, prepared outside the timing.
      const rows: Row[] = [];
      for (let i = from; i < to; i++) {
        for (const reading of decodeAndFinish(i, "raw")) {
          rows.push({ key: reading.key, measuredAt: reading.measuredAt, body: JSON.stringify(reading) });
        }
      }
      const t1 = performance.now();
      for (let i = 0; i < rows.length; i += batch) rawTxn(rows.slice(i, i + batch));
      rawMs += performance.now() - t1;
    }
    const commits = buffer.commits;
    const agentPerS = Math.round(total / (agentMs / 1000));
    const rawPerS = Math.round(total / (rawMs / 1000));
    report(
      "BENCH",
      "ingest",
      {
        readings: total,
        agent_per_s: agentPerS,
        raw_per_s: rawPerS,
        ratio: round(agentPerS / rawPerS),
        p99_durable_ms: round(percentile(latencies, 99)),
      },
      {
        commits,
        rowsPerCommit: total / commits,
        chunk,
        producers,
        rounds,
        p50DurableMs: percentile(latencies, 50),
        agentMs,
        rawMs,
      },
    );
  } finally {
    buffer.close();
    raw.close();
    tmp.cleanup();
  }
}
