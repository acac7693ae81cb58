import { join } from "node:path";
import type { HubBuffer } from "../../src/buffer/buffer.js";
import { FakeClock } from "../../src/core/clock.js";
import { tempDir } from "../../test/support/tmp.js";
import { benchBuffer, flags, intFlag, percentile, report, round } from "./common.js";

function fill(buffer: HubBuffer, rows: number): void {
  const insR = buffer.db.prepare(
    `INSERT INTO readings (key, patient, device_id, kind, measured_at, time_source, body, created_ms)
     VALUES (?, 'p1', 'bench', 'spo2', '2026-11-24T12:00:00.000+00:00', 'device', ?, 0)`,
  );
  const insO = buffer.db.prepare(
    "INSERT INTO outbox (reading_id, route, patient, state, available_ms, created_ms) VALUES (?, 'pkb-rest', 'p1', 'pending', 0, 0)",
  );
  const body = JSON.stringify({ kind: "spo2", components: [{ id: "spo2", value: 97, unit: "%" }] });
  const txn = buffer.db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) insO.run(insR.run(`k-${i}`, body).lastInsertRowid);
  });
  for (let i = 0; i < rows; i += 50_000) txn(i, Math.min(rows, i + 50_000));
}

/** A buffer holding `rows` pending rows, checkpointed. */
function filled(dir: string, rows: number): HubBuffer {
  const buffer = benchBuffer(join(dir, `claim-${rows}.db`), new FakeClock(Date.now()), 0);
  fill(buffer, rows);
  buffer.db.pragma("wal_checkpoint(TRUNCATE)");
  return buffer;
}

/** One claim(1) + mark-delivered, in µs. */
function once(buffer: HubBuffer): number {
  const t0 = performance.now();
  const lease = buffer.outbox.claim("pkb-rest", 1);
  buffer.outbox.complete(
    lease.token,
    lease.rows.map((r) => r.id),
    { kind: "delivered" },
  );
  return (performance.now() - t0) * 1000;
}

/**
 * p50/p99 of claim + mark-delivered on both backlogs, the operations interleaved (one on each, in
 * turn) so a change in the machine's load weighs on both sides alike.
 */
function measure(dir: string, smallRows: number, bigRows: number, ops: number) {
  const small = filled(dir, smallRows + ops);
  const big = filled(dir, bigRows + ops);
  try {
    const t = { small: [] as number[], big: [] as number[] };
    for (let i = 0; i < ops; i++) {
      t.small.push(once(small));
      t.big.push(once(big));
    }
    const stats = (xs: number[]) => ({ p50: percentile(xs, 50), p99: percentile(xs, 99) });
    return { small: stats(t.small), large: stats(t.big) };
  } finally {
    small.close();
    big.close();
  }
}

export async function benchClaim(args: string[]): Promise<void> {
  const f = flags(args);
  const ops = intFlag(f, "ops", 2000);
  const big = intFlag(f, "rows", 1_000_000);
  const tmp = tempDir("pkb-hub-bench-");
  try {
    const { small, large } = measure(tmp.dir, 1000, big, ops);
    report(
      "BENCH",
      "claim",
      {
        p50_1k_us: Math.round(small.p50),
        p50_1m_us: Math.round(large.p50),
        ratio: round(large.p50 / small.p50),
      },
      { ops, rows: big, small, large },
    );
  } finally {
    tmp.cleanup();
  }
}
