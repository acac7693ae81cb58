import { FakeClock } from "../../src/core/clock.js";
import type { ComponentId, ReadingKind } from "../../src/core/codes.js";
import { type FinishContext, finishReading } from "../../src/core/finish.js";
import type { Reading } from "../../src/core/reading.js";
import type { Ucum } from "../../src/core/units.js";

/** A synchronised hub in Europe/London, summer 2026, receiving now. */
export function finishCtx(overrides: Partial<FinishContext> = {}): FinishContext {
  const clock = new FakeClock(Date.UTC(2026, 6, 1, 12, 0, 0));
  return {
    deviceId: "aa:bb:cc:dd:ee:ff",
    driver: "test",
    patient: "p1",
    timeZone: "Europe/London",
    clock,
    receivedAtMs: clock.nowMs(),
    ...overrides,
  };
}

const KIND_OF: Record<ComponentId, ReadingKind> = {
  "bp-systolic": "blood-pressure",
  "bp-diastolic": "blood-pressure",
  "bp-mean": "blood-pressure",
  "pulse-rate": "pulse",
  "heart-rate": "heart-rate",
  spo2: "spo2",
  "body-temperature": "temperature",
  "body-weight": "weight",
  glucose: "glucose",
  "respiratory-rate": "respiratory-rate",
  "peak-flow": "peak-flow",
};

/** Finishes a reading of one component as a device would send it. */
export function finishOne(id: ComponentId, value: number, unit: Ucum, ctx = finishCtx()): Reading {
  return finishReading({ kind: KIND_OF[id], components: [{ id, value, unit }] }, ctx);
}

/** A device wall time, written like a date: wall(2026, 10, 25, 1, 30). */
export function wall(year: number, month: number, day: number, hours: number, minutes = 0, seconds = 0) {
  return { year, month, day, hours, minutes, seconds };
}
