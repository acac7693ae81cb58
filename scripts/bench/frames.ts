import type { ReadingDraft } from "../../src/core/reading.js";

/** A blood pressure measurement as a device would send it: decoded per reading in the bench. */
export function decodeForBench(i: number): ReadingDraft[] {
  return [
    {
      kind: "blood-pressure",
      components: [
        { id: "bp-systolic", value: 100 + (i % 60), unit: "mm[Hg]" },
        { id: "bp-diastolic", value: 60 + (i % 30), unit: "mm[Hg]" },
        { id: "bp-mean", value: 80 + (i % 20), unit: "mm[Hg]" },
        { id: "pulse-rate", value: 50 + (i % 40), unit: "/min" },
      ],
      deviceTime: {
        year: 2026,
        month: 11,
        day: 24,
        hours: 12,
        minutes: Math.floor(i / 60) % 60,
        seconds: i % 60,
      },
      seq: i,
    },
  ];
}
