import { FakeClock } from "../../src/core/clock.js";
import { finishReading } from "../../src/core/finish.js";
import type { Flag, Reading } from "../../src/core/reading.js";
import type { Sender } from "../../src/forward/hl7/messages.js";

/** Shared inputs of the pure HL7 suites: one sender, one instant, readings taken at fixed device times. */
export const NOW = Date.UTC(2026, 6, 1, 11, 30, 5); // 12:30:05 BST
export const SCT = { snomed: {}, codingSystem: "SCT" };

export function sender(processingId = "P"): Sender {
  return {
    sendingApplication: "PKBHUB",
    sendingFacility: "DEMOALIAS",
    processingId,
    timeZone: "Europe/London",
  };
}

const ctx = {
  deviceId: "d",
  driver: "t",
  patient: "p",
  timeZone: "Europe/London",
  clock: new FakeClock(NOW),
  receivedAtMs: NOW,
};

/** 120/80 mmHg at 12:00 BST on 1 July 2026. */
export function bpReading(flags: Flag[] = []): Reading {
  return finishReading(
    {
      kind: "blood-pressure",
      components: [
        { id: "bp-systolic", value: 120, unit: "mm[Hg]" },
        { id: "bp-diastolic", value: 80, unit: "mm[Hg]" },
      ],
      deviceTime: { year: 2026, month: 7, day: 1, hours: 12, minutes: 0, seconds: 0 },
      flags,
    },
    ctx,
  );
}

/** 99.1 mg/dL (5.5 mmol/L) at 08:05:09 GMT on 2 January 2026. */
export function glucoseReading(): Reading {
  return finishReading(
    {
      kind: "glucose",
      components: [{ id: "glucose", value: 99.1, unit: "mg/dL" }],
      deviceTime: { year: 2026, month: 1, day: 2, hours: 8, minutes: 5, seconds: 9 },
    },
    ctx,
  );
}
