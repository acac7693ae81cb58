import { CODES, type ComponentId } from "./codes.js";

/**
 * Hard limits: values no living patient can have, whatever the illness, in the component's canonical
 * unit (CODES[id].unit). A value beyond them is not a measurement but a decoding fault, a special
 * value read as a number, or a device fault: the reading is quarantined (stored, never forwarded).
 *
 * These are deliberately far wider than the physiological ranges in codes.ts, which only flag
 * (`out-of-range:<id>`): a real extreme (glucose 35 mg/dL, 32 °C hypothermia, 260/140 mmHg) is
 * unusual and is forwarded; only the physically impossible is held back.
 */
export interface HardLimit {
  /** Lowest possible value. */
  min: number;
  /** True when `min` itself is impossible too (a pressure of exactly 0 is no pressure). */
  minExclusive: boolean;
  /** Highest possible value (itself possible). */
  max: number;
}

export const HARD_LIMITS: Readonly<Record<ComponentId, HardLimit>> = {
  // Arterial pressure measured by a cuff is a gauge pressure: in a living patient it is above
  // atmospheric, so 0 or below is impossible. The highest arterial pressures ever recorded are
  // about 480/350 mmHg (intra-arterial, weightlifters at maximal effort, MacDougall 1985); home
  // cuffs cannot even inflate past ~300 mmHg. 500 / 400 / 450 leave room above every record.
  "bp-systolic": { min: 0, minExclusive: true, max: 500 },
  "bp-diastolic": { min: 0, minExclusive: true, max: 400 },
  "bp-mean": { min: 0, minExclusive: true, max: 450 },
  // A patient measuring themselves has a pulse; 0 is "no pulse found", not a rate. The fastest
  // rates recorded in humans are about 480–600 /min (infant SVT, pre-excited atrial fibrillation).
  "pulse-rate": { min: 0, minExclusive: true, max: 600 },
  "heart-rate": { min: 0, minExclusive: true, max: 600 },
  // A saturation is the share of haemoglobin carrying oxygen: 0–100 % by definition.
  spo2: { min: 0, minExclusive: false, max: 100 },
  // Body temperature of a living person: the lowest survived accidental hypothermia is about
  // 11.8 °C core, the highest survived heat stroke 46.5 °C; proteins denature irreversibly above
  // ~47 °C. 10–50 °C keeps every survivor and rejects -1e127 °C or a Fahrenheit value read as Celsius
  // (98.6 °C).
  "body-temperature": { min: 10, minExclusive: false, max: 50 },
  // A mass on a scale is positive; the heaviest person recorded weighed about 635 kg.
  "body-weight": { min: 0, minExclusive: true, max: 700 },
  // Blood glucose is positive in a living patient; the highest value survived is 2656 mg/dL
  // (147.6 mmol/L, 2008). 5000 mg/dL is far beyond it and still below glucose's solubility in water.
  glucose: { min: 0, minExclusive: true, max: 5000 },
  // Apnoea is a real respiratory rate of 0; even a panting neonate stays far below 200 /min.
  "respiratory-rate": { min: 0, minExclusive: false, max: 200 },
  // A forced exhalation has a positive peak flow; the largest adult values are about 1000 L/min.
  "peak-flow": { min: 0, minExclusive: true, max: 1500 },
};

/** True when the value (canonical unit) is beyond what a living patient can have. */
export function isImpossible(id: ComponentId, value: number): boolean {
  const l = HARD_LIMITS[id];
  return !(l.minExclusive ? value > l.min : value >= l.min) || !(value <= l.max);
}

/** The limits in words, for a quarantine reason: names the component and the limits, never a value. */
export function describeLimits(id: ComponentId): string {
  const l = HARD_LIMITS[id];
  const unit = CODES[id].unit;
  return `${id} must be ${l.minExclusive ? ">" : ">="} ${l.min} and <= ${l.max} ${unit}`;
}
