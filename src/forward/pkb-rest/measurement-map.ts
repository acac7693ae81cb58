import type { ComponentId, ReadingKind } from "../../core/codes.js";
import { HubError } from "../../core/errors.js";
import type { Reading } from "../../core/reading.js";
import { convertRounded, type Ucum } from "../../core/units.js";

/**
 * Reading → PKB measurement. PKB's measurement JSON body is not public (PKB.md: UNKNOWN): this is
 * the ONE place that knows its shape, table-driven, so it can be corrected after a sandbox test.
 * Types and units follow `GET /v2-beta/measurements/apiRefs` as far as it is known.
 */
export interface PkbValueSpec {
  /** Name of the value within the measurement. */
  name: string;
  /** PKB's unit string, and the UCUM unit our value is converted to before sending. */
  pkbUnit: string;
  ucum: Ucum;
}

export interface PkbTypeSpec {
  type: string;
  values: Partial<Record<ComponentId, PkbValueSpec>>;
}

export const PKB_MEASUREMENT_TYPES: Readonly<Partial<Record<ReadingKind, PkbTypeSpec>>> = {
  "blood-pressure": {
    type: "BLOOD_PRESSURE",
    values: {
      "bp-systolic": { name: "systolic", pkbUnit: "mmHg", ucum: "mm[Hg]" },
      "bp-diastolic": { name: "diastolic", pkbUnit: "mmHg", ucum: "mm[Hg]" },
      "pulse-rate": { name: "pulse", pkbUnit: "bpm", ucum: "/min" },
    },
  },
  spo2: {
    type: "OXYGEN_SATURATION",
    values: {
      spo2: { name: "saturation", pkbUnit: "%", ucum: "%" },
      "pulse-rate": { name: "pulse", pkbUnit: "bpm", ucum: "/min" },
    },
  },
  pulse: { type: "HEART_RATE", values: { "pulse-rate": { name: "rate", pkbUnit: "bpm", ucum: "/min" } } },
  "heart-rate": {
    type: "HEART_RATE",
    values: { "heart-rate": { name: "rate", pkbUnit: "bpm", ucum: "/min" } },
  },
  temperature: {
    type: "BODY_TEMPERATURE",
    values: { "body-temperature": { name: "temperature", pkbUnit: "°C", ucum: "Cel" } },
  },
  weight: { type: "WEIGHT", values: { "body-weight": { name: "weight", pkbUnit: "kg", ucum: "kg" } } },
  glucose: {
    type: "BLOOD_GLUCOSE",
    values: { glucose: { name: "glucose", pkbUnit: "mmol/L", ucum: "mmol/L" } },
  },
  "respiratory-rate": {
    type: "RESPIRATORY_RATE",
    values: { "respiratory-rate": { name: "rate", pkbUnit: "breaths/min", ucum: "/min" } },
  },
  "peak-flow": {
    type: "PEAK_FLOW",
    values: { "peak-flow": { name: "flow", pkbUnit: "L/min", ucum: "L/min" } },
  },
};

export interface PkbMeasurementBody {
  type: string;
  observedDate: string;
  values: Array<{ name: string; value: number; unit: string }>;
  /** Our idempotency key, so a record can be traced (and de-duplicated, if PKB ever does). */
  externalId: string;
  source: string;
}

/** Builds the body for one reading. Components PKB has no place for (e.g. mean arterial pressure) are left out. */
export function toPkbMeasurement(reading: Reading, source = "pkb-hub"): PkbMeasurementBody {
  const spec = PKB_MEASUREMENT_TYPES[reading.kind];
  if (!spec) throw new HubError("REJECTED", `no PKB measurement type for readings of kind ${reading.kind}`);
  const values = reading.components.flatMap((c) => {
    const v = spec.values[c.id];
    return v ? [{ name: v.name, value: convertRounded(c.value, c.unit, v.ucum), unit: v.pkbUnit }] : [];
  });
  if (values.length === 0)
    throw new HubError("REJECTED", `reading of kind ${reading.kind} has no value PKB accepts`);
  return { type: spec.type, observedDate: reading.measuredAt, values, externalId: reading.key, source };
}
