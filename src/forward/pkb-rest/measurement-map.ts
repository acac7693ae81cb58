import type { ComponentId, ReadingKind } from "../../core/codes.js";
import { HubError } from "../../core/errors.js";
import { formatValue } from "../../core/format.js";
import type { Reading } from "../../core/reading.js";
import { convert, type Ucum } from "../../core/units.js";

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

/** A value as decimal text from formatValue: digits, optional sign and fraction, never an exponent. */
const DECIMAL = /^-?\d+(\.\d+)?$/;

export interface PkbMeasurementBody {
  type: string;
  observedDate: string;
  /** `value` is the decimal text formatValue gives; it is written into the JSON as a number token. */
  values: Array<{ name: string; value: string; unit: string }>;
  /**
   * The reading's flags, as they are (`out-of-range:<id>`, `above-measuring-range:<id>` — the
   * device showed HI, the value is its limit, not a measurement —, `ambiguous-local-time`, …).
   * Flags never carry values. Without them a HI reading would look like an exact value.
   */
  flags: string[];
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
    // Converted to PKB's unit where it differs; rounded and written once, by formatValue.
    return v
      ? [
          {
            name: v.name,
            value: formatValue(convert(c.value, c.unit, v.ucum), c.id, v.ucum),
            unit: v.pkbUnit,
          },
        ]
      : [];
  });
  if (values.length === 0)
    throw new HubError("REJECTED", `reading of kind ${reading.kind} has no value PKB accepts`);
  return {
    type: spec.type,
    observedDate: reading.measuredAt,
    values,
    flags: [...reading.flags],
    externalId: reading.key,
    source,
  };
}

/**
 * The request body's JSON text. Each value is written as a JSON number whose digits are exactly
 * formatValue's text (JSON.stringify of a double could say 1e-7 or 55.99999999999999).
 */
export function pkbMeasurementJson(body: PkbMeasurementBody): string {
  const values = body.values.map((v) => {
    if (!DECIMAL.test(v.value))
      throw new HubError("READING_INVALID", `value of ${v.name} is not plain decimal text`);
    return `{"name":${JSON.stringify(v.name)},"value":${v.value},"unit":${JSON.stringify(v.unit)}}`;
  });
  const { values: _values, ...rest } = body;
  return `${JSON.stringify(rest).slice(0, -1)},"values":[${values.join(",")}]}`;
}

/**
 * Why a 2xx answer to a measurement POST does not say what PKB created, or undefined when it does.
 * PKB's answer is not public either: the stand-in answers `{"id": …}`, the shape every PKB JSON
 * create answer is documented with. Kept here, beside the request body, so both change together.
 */
export function createdMeasurementProblem(body: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return body.trim() === "" ? "with an empty body" : "with a body that is not JSON";
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
    return "with JSON that is not an object";
  const { id } = parsed as { id?: unknown };
  return typeof id === "string" || typeof id === "number"
    ? undefined
    : "with no id of the created measurement";
}

/**
 * Where the patient's measurements of one type are listed (`GET /json/v1/measurements/byType/{type}`,
 * documented). Whether it takes a time window is UNKNOWN: the whole list is read.
 */
export function listingPath(body: PkbMeasurementBody): string {
  return `/json/v1/measurements/byType/${encodeURIComponent(body.type)}`;
}

const sameNumber = (a: unknown, b: string): boolean => typeof a === "number" && a === Number(b);

/**
 * Whether PKB's listing already holds the measurement `sent`: by our external id when PKB echoes it,
 * else by type, observed instant and every value with its unit (the listing's shape is UNKNOWN: the
 * stand-in answers a JSON array of what was posted). Undefined when the listing cannot be read, so the
 * caller neither re-sends nor assumes delivery.
 */
export function listingHolds(listing: string, sent: PkbMeasurementBody): boolean | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(listing);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  const at = Date.parse(sent.observedDate);
  return parsed.some((m: unknown) => {
    if (m === null || typeof m !== "object") return false;
    const item = m as { externalId?: unknown; type?: unknown; observedDate?: unknown; values?: unknown };
    if (item.externalId !== undefined) return item.externalId === sent.externalId;
    if (item.type !== sent.type || typeof item.observedDate !== "string") return false;
    if (Date.parse(item.observedDate) !== at || !Array.isArray(item.values)) return false;
    const values = item.values as Array<{ name?: unknown; value?: unknown; unit?: unknown }>;
    return (
      values.length === sent.values.length &&
      sent.values.every((v) =>
        values.some((x) => x.name === v.name && x.unit === v.unit && sameNumber(x.value, v.value)),
      )
    );
  });
}
