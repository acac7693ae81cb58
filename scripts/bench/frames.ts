import { decodeBloodPressure } from "../../drivers/ble-blood-pressure/index.js";
import type { ReadingDraft } from "../../src/core/reading.js";

/** A Blood Pressure Measurement frame (0x2A35) as a monitor sends it: mmHg, time stamp, pulse. */
export function bpFrame(i: number): Uint8Array {
  const minute = Math.floor(i / 60) % 60;
  return Uint8Array.of(
    0x06, // flags: mmHg, time stamp, pulse rate
    100 + (i % 60),
    0,
    60 + (i % 30),
    0,
    80 + (i % 20),
    0,
    0xea,
    0x07,
    11,
    24,
    12 + (Math.floor(i / 3600) % 12),
    minute,
    i % 60,
    50 + (i % 40),
    0,
  );
}

/** The bench's decode step: the real driver decoder on a real frame. */
export function decodeForBench(i: number): ReadingDraft[] {
  return decodeBloodPressure(bpFrame(i)).map((d) => ({ ...d, seq: i }));
}
