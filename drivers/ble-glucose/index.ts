import { byCharacteristic } from "../characteristic.js";
import { addMinutes, DraftBuilder } from "../draft.js";
import { bit, knownTime, Reader } from "../ieee11073.js";
import type { DriverDefinition } from "../types.js";

/** Type (low nibble of the type-sample location byte); 0 and 11-15 are reserved. */
const SAMPLE_TYPES = [
  "",
  "capillary-whole-blood",
  "capillary-plasma",
  "venous-whole-blood",
  "venous-plasma",
  "arterial-whole-blood",
  "arterial-plasma",
  "undetermined-whole-blood",
  "undetermined-plasma",
  "interstitial-fluid",
];
const LOCATIONS: Record<number, string> = {
  1: "finger",
  2: "alternate-site",
  3: "earlobe",
  // 4 control solution: no patient reading; 15 not available; 0 and 5-14 reserved
};
const CONTROL_SOLUTION_TYPE = 10;
const CONTROL_SOLUTION_LOCATION = 4;

/**
 * Sensor Status Annunciation (uint16), bits 12-15 reserved. Bits 5 and 6 mean the meter could not
 * measure the value (it showed HI or LO): the concentration is its limit, never an exact value.
 * The reading is kept with the flags (losing it would hide a HI from the clinician).
 */
const SENSOR_STATUS: ReadonlyArray<[bit: number, flag: string]> = [
  [0, "device-battery-low"],
  [1, "sensor-malfunction"],
  [2, "sample-size-insufficient"],
  [3, "strip-insertion-error"],
  [4, "strip-type-incorrect"],
  [5, "above-measuring-range:glucose"],
  [6, "below-measuring-range:glucose"],
  [7, "sensor-temperature-too-high"],
  [8, "sensor-temperature-too-low"],
  [9, "sensor-read-interrupted"],
  [10, "general-device-fault"],
  [11, "device-time-fault"],
];

/** The record's sequence number (bytes 1-2), for RACP bookkeeping even when the record is no reading. */
export function glucoseSequence(frame: Uint8Array): number {
  const r = new Reader(frame, "glucose measurement");
  r.u8();
  return r.u16();
}

/** Flag bits 5-7 are reserved for future use. */
const RESERVED_FLAGS = 0xe0;

/**
 * Glucose Measurement (0x2A18): flags, seq, base time, [time offset], [concentration + type/location],
 * [sensor status]. The whole frame is checked before anything is decided from it. Control-solution
 * records are not patient readings and yield nothing.
 */
export function decodeGlucose(frame: Uint8Array) {
  const r = new Reader(frame, "glucose measurement");
  const flags = r.u8();
  const seq = r.u16();
  const base = r.dateTime();
  const offset = bit(flags, 0) ? r.s16() : 0;
  const b = new DraftBuilder("glucose").seq(seq).sentTime(base, bit(flags, 0) ? offset : undefined);
  const known = knownTime(base);
  b.time(known ? addMinutes(known, offset) : undefined);
  const hasConcentration = bit(flags, 1);
  const concentration = hasConcentration ? r.sfloat() : undefined;
  const typeLocation = hasConcentration ? r.u8() : 0;
  if (bit(flags, 3)) {
    const status = r.u16();
    for (const [n, flag] of SENSOR_STATUS) if (bit(status, n)) b.flag(flag);
  }
  r.end(flags, RESERVED_FLAGS);
  if (!concentration) return []; // no concentration in this record
  const type = typeLocation & 0x0f;
  const location = typeLocation >> 4;
  if (type === CONTROL_SOLUTION_TYPE || location === CONTROL_SOLUTION_LOCATION) return [];
  const molar = bit(flags, 2);
  const value = concentration.ok
    ? { ok: true as const, value: molar ? concentration.value * 1000 : concentration.value * 100000 }
    : concentration;
  b.add("glucose", value, molar ? "mmol/L" : "mg/dL", {
    value: concentration,
    unit: molar ? "mol/L" : "kg/L",
  });
  b.meta("sampleType", SAMPLE_TYPES[type] || `type-${type}`);
  if (LOCATIONS[location]) b.meta("sampleLocation", LOCATIONS[location] as string);
  if (bit(flags, 4)) b.meta("contextFollows", true);
  return b.build();
}

export const GLUCOSE_MEASUREMENT = "2a18";
export const RACP = "2a52";

export const driver: DriverDefinition = {
  id: "ble-glucose",
  description: "Bluetooth Glucose profile (service 0x1808) with Record Access Control Point download",
  matcher: { transport: "ble", services: ["1808"], characteristics: [GLUCOSE_MEASUREMENT], racp: RACP },
  decode: byCharacteristic("glucose", { [GLUCOSE_MEASUREMENT]: decodeGlucose }),
};
