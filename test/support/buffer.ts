import { join } from "node:path";
import { HubBuffer, type HubBufferOptions } from "../../src/buffer/buffer.js";
import type { Outcome } from "../../src/buffer/outbox.js";
import { FakeClock } from "../../src/core/clock.js";
import { finishReading } from "../../src/core/finish.js";
import { silentLogger } from "../../src/core/log.js";
import type { Reading } from "../../src/core/reading.js";

export function makeBuffer(dir: string, overrides: Partial<HubBufferOptions> = {}) {
  const clock = (overrides.clock as FakeClock | undefined) ?? new FakeClock();
  const buffer = new HubBuffer({
    file: join(dir, "buffer.db"),
    clock,
    logger: silentLogger(),
    routeOf: (p) => (p.startsWith("hl7") ? "hl7" : "pkb-rest"),
    maxSizeBytes: 64 * 1024 * 1024,
    retentionMs: 86_400_000,
    maxAttempts: 5,
    backoffBaseMs: 1000,
    backoffMaxMs: 60_000,
    leaseMs: 30_000,
    groupCommitMs: 0,
    random: () => 0.5,
    ...overrides,
  });
  return { buffer, clock };
}

let seq = 0;
/** A blood pressure reading; `n` makes it unique. */
export function bpReading(clock: FakeClock, n = ++seq, patient = "p1", deviceId = "dev-1"): Reading {
  return finishReading(
    {
      kind: "blood-pressure",
      components: [
        { id: "bp-systolic", value: 120 + (n % 50), unit: "mm[Hg]" },
        { id: "bp-diastolic", value: 80, unit: "mm[Hg]" },
      ],
      seq: n,
    },
    { deviceId, driver: "test", patient, timeZone: "Europe/London", clock, receivedAtMs: clock.nowMs() },
  );
}

/** Ingests `n` blood pressure readings for a patient; returns them in order. */
export async function seedReadings(buffer: HubBuffer, clock: FakeClock, n: number, patient = "p1") {
  const readings = Array.from({ length: n }, () => bpReading(clock, undefined, patient));
  await buffer.ingest(readings);
  return readings;
}

/** The state of every outbox row, by id. */
export function outboxStates(buffer: HubBuffer): Array<{ id: number; state: string }> {
  return buffer.db.prepare("SELECT id, state FROM outbox ORDER BY id").all() as Array<{
    id: number;
    state: string;
  }>;
}

/** Claims one row of a route and completes it with `outcome`; returns its id. */
export function sendOnce(buffer: HubBuffer, route: string, outcome: Outcome): number {
  const lease = buffer.outbox.claim(route, 1);
  const id = lease.rows[0]?.id;
  if (id === undefined) throw new Error(`nothing to claim on ${route}`);
  buffer.outbox.complete(lease.token, [id], outcome);
  return id;
}
