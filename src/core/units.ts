import { HubError } from "./errors.js";

/** UCUM unit codes the agent understands. */
export const UNITS = [
  "mm[Hg]",
  "kPa",
  "Cel",
  "[degF]",
  "kg",
  "[lb_av]",
  "mg/dL",
  "mmol/L",
  "%",
  "/min",
  "L/min",
  "kJ",
] as const;
export type Ucum = (typeof UNITS)[number];

export function isUcum(unit: string): unit is Ucum {
  return (UNITS as readonly string[]).includes(unit);
}

/** 1 mmHg is defined as 133.322387415 Pa. */
export const PA_PER_MMHG = 133.322387415;
/** The international avoirdupois pound is defined as exactly 0.45359237 kg. */
export const KG_PER_LB = 0.45359237;
/** Molar mass of glucose (C6H12O6), g/mol: 1 mmol/L = 18.0156 mg/dL. */
export const GLUCOSE_MG_PER_MMOL = 180.156 / 10;

type Converter = (value: number) => number;

const CONVERSIONS: Partial<Record<`${Ucum}>${Ucum}`, Converter>> = {
  "kPa>mm[Hg]": (v) => (v * 1000) / PA_PER_MMHG,
  "mm[Hg]>kPa": (v) => (v * PA_PER_MMHG) / 1000,
  "[degF]>Cel": (v) => ((v - 32) * 5) / 9,
  "Cel>[degF]": (v) => (v * 9) / 5 + 32,
  "[lb_av]>kg": (v) => v * KG_PER_LB,
  "kg>[lb_av]": (v) => v / KG_PER_LB,
  "mmol/L>mg/dL": (v) => v * GLUCOSE_MG_PER_MMOL,
  "mg/dL>mmol/L": (v) => v / GLUCOSE_MG_PER_MMOL,
};

/** Exact conversion (no rounding). Throws READING_INVALID for a pair we do not convert. */
export function convert(value: number, from: Ucum, to: Ucum): number {
  if (from === to) return value;
  const fn = CONVERSIONS[`${from}>${to}`];
  if (!fn) throw new HubError("READING_INVALID", `no conversion from ${from} to ${to}`);
  return fn(value);
}

export function canConvert(from: Ucum, to: Ucum): boolean {
  return from === to || CONVERSIONS[`${from}>${to}`] !== undefined;
}

/** Decimal places worth keeping after a conversion, so 120 mmHg does not become 119.99999. */
const DECIMALS: Record<Ucum, number> = {
  "mm[Hg]": 1,
  kPa: 2,
  Cel: 2,
  "[degF]": 1,
  kg: 3,
  "[lb_av]": 2,
  "mg/dL": 1,
  "mmol/L": 2,
  "%": 1,
  "/min": 1,
  "L/min": 1,
  kJ: 0,
};

/** Decimal places kept for a value in this unit (when it is not a component's canonical unit). */
export function unitDecimals(unit: Ucum): number {
  return DECIMALS[unit];
}

/** Beyond this a double has no useful decimals left to round (and scaling could overflow). */
const NOTHING_TO_ROUND = 1e15;

/**
 * Rounds half away from zero to `decimals` places, on the value's shortest decimal form rather than
 * its binary one (1.005 → 1.01, 55.99999999999999 → 56). Never returns -0. Values of 1e15 and more
 * are returned as they are; non-finite values too (callers refuse those).
 */
export function roundTo(value: number, decimals: number): number {
  const magnitude = Math.abs(value);
  // Stryker disable next-line EqualityOperator: rounding 1e15 itself gives 1e15 back as well
  if (!(magnitude < NOTHING_TO_ROUND)) return value;
  const text = String(magnitude);
  // Below 1e-6 the shortest form uses an exponent; such a value rounds to zero at any resolution we keep.
  if (text.includes("e")) return 0;
  const rounded = Math.sign(value) * Number(`${Math.round(Number(`${text}e${decimals}`))}e-${decimals}`);
  return rounded === 0 ? 0 : rounded;
}

export function roundFor(unit: Ucum, value: number): number {
  return roundTo(value, DECIMALS[unit]);
}

/** Convert and round to the precision sensible for the target unit. */
export function convertRounded(value: number, from: Ucum, to: Ucum): number {
  return from === to ? value : roundFor(to, convert(value, from, to));
}
