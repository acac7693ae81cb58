import { CODES, type ComponentId } from "../../core/codes.js";
import { HubError } from "../../core/errors.js";
import { formatValue } from "../../core/format.js";
import type { Component } from "../../core/reading.js";
import { canConvert, convert, type Ucum } from "../../core/units.js";

/**
 * The unit spellings the HL7 route may send in OBX-6, each with the UCUM unit whose number it
 * carries. PKB matches (SNOMED code, unit) against its measurement types, and the unit string
 * agreed with PKB may be an informal spelling (`mmol/l`, `mmHg`, `bpm`): the string is sent as
 * agreed, the number is converted to the UCUM unit it stands for. A spelling not in this table
 * is refused when the configuration is loaded: a number is never sent under a unit it was not
 * converted to. Matching is exact (UCUM is case-sensitive: `mmol/L` and `mmol/l` are both listed,
 * `MMOL/L` is not).
 */
export const UNIT_SPELLINGS: Readonly<Record<string, Ucum>> = {
  "mm[Hg]": "mm[Hg]",
  mmHg: "mm[Hg]",
  kPa: "kPa",
  Cel: "Cel",
  "°C": "Cel",
  degC: "Cel",
  "[degF]": "[degF]",
  "°F": "[degF]",
  degF: "[degF]",
  kg: "kg",
  "[lb_av]": "[lb_av]",
  lb: "[lb_av]",
  lbs: "[lb_av]",
  "mg/dL": "mg/dL",
  "mg/dl": "mg/dL",
  "mmol/L": "mmol/L",
  "mmol/l": "mmol/L",
  "%": "%",
  "/min": "/min",
  bpm: "/min",
  "{beats}/min": "/min",
  "beats/min": "/min",
  "{breaths}/min": "/min",
  "breaths/min": "/min",
  "L/min": "L/min",
  "l/min": "L/min",
};

/** Spellings that name what is counted: only for the components that count it. */
const ONLY_FOR: Readonly<Record<string, readonly ComponentId[]>> = {
  "{beats}/min": ["pulse-rate", "heart-rate"],
  "beats/min": ["pulse-rate", "heart-rate"],
  "{breaths}/min": ["respiratory-rate"],
  "breaths/min": ["respiratory-rate"],
};

export function ucumOf(spelling: string): Ucum | undefined {
  return Object.hasOwn(UNIT_SPELLINGS, spelling) ? UNIT_SPELLINGS[spelling] : undefined;
}

/** Why `spelling` cannot carry component `id`'s value, or undefined when it can (exactly, after conversion). */
export function unitProblem(id: ComponentId, spelling: string): string | undefined {
  const ucum = ucumOf(spelling);
  if (ucum === undefined)
    return `unit '${spelling}' is not one the hub converts to; accepted: ${Object.keys(UNIT_SPELLINGS).join(" ")}`;
  const only = ONLY_FOR[spelling];
  if ((only && !only.includes(id)) || !canConvert(CODES[id].unit, ucum))
    return `unit '${spelling}' cannot carry ${CODES[id].label} (measured in ${CODES[id].unit})`;
  return undefined;
}

/** OBX-5 for a component sent under `spelling`: converted to the unit it names, formatted for it (core/format). */
export function valueIn(c: Pick<Component, "id" | "value" | "unit">, spelling: string): string {
  const problem = unitProblem(c.id, spelling);
  const ucum = ucumOf(spelling);
  if (problem !== undefined || ucum === undefined) throw new HubError("CONFIG_INVALID", problem ?? spelling);
  // Converted exactly, rounded once to the sent unit's resolution, written without exponent.
  return formatValue(c.unit === ucum ? c.value : convert(c.value, c.unit, ucum), c.id, ucum);
}

/**
 * Units the HL7 route sends when `routes.hl7.snomed` does not say: the hub's canonical unit,
 * except blood glucose in mmol/L, the unit of NHS practice (the HL7 route identifies patients by
 * NHS number, so it serves NHS deployments); mg/dL is one override away.
 */
export const HL7_DEFAULT_UNIT: Readonly<Partial<Record<ComponentId, string>>> = { glucose: "mmol/L" };
