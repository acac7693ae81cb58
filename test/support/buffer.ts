import { join } from "node:path";
import { beforeEach } from "vitest";
import { HubBuffer, type HubBufferOptions } from "../../src/buffer/buffer.js";
import type { Outcome } from "../../src/buffer/outbox.js";
import { FakeClock } from "../../src/core/clock.js";
import { finishReading } from "../../src/core/finish.js";
import { silentLogger } from "../../src/core/log.js";
import type { Reading, ReadingDraft } from "../../src/core/reading.js";
import { tempDirPerTest } from "./per-test.js";

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

/**
 * A fresh buffer in a temp dir for every test of the file: `open` receives it before each test,
 * `current` names the one to close after it (a test may reopen the buffer). Returns the temp dir.
 */
export function bufferPerTest(
  open: (made: ReturnType<typeof makeBuffer>) => void,
  current: () => HubBuffer,
  overrides: Partial<HubBufferOptions> = {},
): { dir: string } {
  const t = tempDirPerTest(() => current().close());
  beforeEach(() => open(makeBuffer(t.dir, overrides)));
  return t;
}

/** A blood pressure draft (mmHg), as a BLE monitor's driver gives it; `more` adds time, slot, sequence… */
export function bpDraft(systolic: number, diastolic: number, more: Partial<ReadingDraft> = {}): ReadingDraft {
  const components: ReadingDraft["components"] = [
    { id: "bp-systolic", value: systolic, unit: "mm[Hg]" },
    { id: "bp-diastolic", value: diastolic, unit: "mm[Hg]" },
  ];
  return { kind: "blood-pressure", components, ...more };
}

let seq = 0;
/** A blood pressure reading; `n` makes it unique. */
export function bpReading(clock: FakeClock, n = ++seq, patient = "p1", deviceId = "dev-1"): Reading {
  return finishReading(bpDraft(120 + (n % 50), 80, { seq: n }), {
    deviceId,
    driver: "test",
    patient,
    timeZone: "Europe/London",
    clock,
    receivedAtMs: clock.nowMs(),
  });
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

/**
 * Writes `n` held readings straight into the buffer (one INSERT … SELECT each for readings and
 * outbox rows), as a hub that was unsynchronised for a long time would have them.
 */
export function seedHeld(buffer: HubBuffer, clock: FakeClock, n: number, patient = "p1"): void {
  const template = bpReading(clock, undefined, patient);
  const body = JSON.stringify({ ...template, timeSource: "hub-unsynced" });
  const now = clock.nowMs();
  buffer.db.transaction(() => {
    buffer.db
      .prepare(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < @n)
         INSERT INTO readings (key, patient, device_id, kind, measured_at, time_source, boot_id, mono_ms, body, created_ms)
         SELECT 'held-' || i, @patient, 'dev-1', 'blood-pressure', @at, 'hub-unsynced', @boot, @mono, @body, @now FROM n`,
      )
      .run({ n, patient, at: template.measuredAt, boot: clock.bootId, mono: clock.monoMs, body, now });
    buffer.db
      .prepare(
        `INSERT INTO outbox (reading_id, route, patient, state, available_ms, created_ms)
         SELECT id, 'pkb-rest', patient, 'held', @now, @now FROM readings WHERE key LIKE 'held-%'`,
      )
      .run({ now });
  })();
  // Checkpoint the seed now, so that the first measured commit does not pay for it.
  buffer.db.pragma("wal_checkpoint(TRUNCATE)");
}

/** Measures the longest time the event loop was blocked while `work` ran (setImmediate ticks). */
export async function longestBlockMs<T>(work: () => Promise<T>): Promise<{ result: T; longestMs: number }> {
  let longestMs = 0;
  let last = performance.now();
  let done = false;
  const tick = () => {
    const t = performance.now();
    longestMs = Math.max(longestMs, t - last);
    last = t;
    if (!done) setImmediate(tick);
  };
  setImmediate(tick);
  const result = await work();
  // One more turn, so that a block at the very end (or a fully synchronous `work`) is measured too.
  await new Promise((resolve) => setImmediate(resolve));
  done = true;
  return { result, longestMs };
}

/** True inside a StrykerJS mutation run: large timing tests are skipped there (each mutant would re-run them). */
export const UNDER_MUTATION = process.env.STRYKER_MUTATOR_WORKER !== undefined;
