import type { Ucum } from "./units.js";

/**
 * The code table: one row per measured quantity. PKB's HL7 route matches SNOMED CT + unit and
 * its REST route its own types; both routes map from `ComponentId` through their own tables.
 */
export const COMPONENT_IDS = [
  "bp-systolic",
  "bp-diastolic",
  "bp-mean",
  "pulse-rate",
  "heart-rate",
  "spo2",
  "body-temperature",
  "body-weight",
  "glucose",
  "respiratory-rate",
  "peak-flow",
] as const;
export type ComponentId = (typeof COMPONENT_IDS)[number];

export const READING_KINDS = [
  "blood-pressure",
  "pulse",
  "spo2",
  "temperature",
  "weight",
  "glucose",
  "heart-rate",
  "respiratory-rate",
  "peak-flow",
] as const;
export type ReadingKind = (typeof READING_KINDS)[number];

export interface CodeRow {
  loinc: string;
  snomed: string;
  /** IEEE 11073-10101 MDC nomenclature code (partition-qualified number). */
  mdc: number;
  mdcName: string;
  /** Canonical UCUM unit the agent stores this component in. */
  unit: Ucum;
  /** Physiologically plausible range in the canonical unit; outside it the reading is flagged, never dropped. */
  range: readonly [number, number];
  /**
   * Decimal places kept in the canonical unit: finishReading rounds every value once to this, so
   * float noise (0.00056 kg/L × 100000 = 55.99999999999999) never leaves the hub, and no device's
   * resolution is lost (it is finer than any home device reports, and keeps a converted value's
   * precision: 10.7 kPa = 80.3 mmHg, 5.5 mmol/L = 99.1 mg/dL, 98.6 °F = 37 °C).
   */
  decimals: number;
  label: string;
}

export const CODES: Readonly<Record<ComponentId, CodeRow>> = {
  "bp-systolic": {
    loinc: "8480-6",
    snomed: "72313002",
    mdc: 150021,
    mdcName: "MDC_PRESS_BLD_NONINV_SYS",
    unit: "mm[Hg]",
    range: [40, 300],
    decimals: 1,
    label: "systolic blood pressure",
  },
  "bp-diastolic": {
    loinc: "8462-4",
    snomed: "1091811000000102",
    mdc: 150022,
    mdcName: "MDC_PRESS_BLD_NONINV_DIA",
    unit: "mm[Hg]",
    range: [20, 200],
    decimals: 1,
    label: "diastolic blood pressure",
  },
  "bp-mean": {
    loinc: "8478-0",
    snomed: "6797001",
    mdc: 150023,
    mdcName: "MDC_PRESS_BLD_NONINV_MEAN",
    unit: "mm[Hg]",
    range: [30, 250],
    decimals: 1,
    label: "mean arterial pressure",
  },
  "pulse-rate": {
    loinc: "8867-4",
    snomed: "78564009",
    mdc: 149546,
    mdcName: "MDC_PULS_RATE_NON_INV",
    unit: "/min",
    range: [20, 300],
    decimals: 1,
    label: "pulse rate",
  },
  "heart-rate": {
    loinc: "8867-4",
    snomed: "364075005",
    mdc: 147842,
    mdcName: "MDC_ECG_HEART_RATE",
    unit: "/min",
    range: [20, 300],
    decimals: 1,
    label: "heart rate",
  },
  spo2: {
    loinc: "59408-5",
    snomed: "431314004",
    mdc: 150456,
    mdcName: "MDC_PULS_OXIM_SAT_O2",
    unit: "%",
    range: [50, 100],
    decimals: 1,
    label: "oxygen saturation",
  },
  "body-temperature": {
    loinc: "8310-5",
    snomed: "386725007",
    mdc: 150364,
    mdcName: "MDC_TEMP_BODY",
    unit: "Cel",
    range: [25, 45],
    decimals: 2,
    label: "body temperature",
  },
  "body-weight": {
    loinc: "29463-7",
    snomed: "27113001",
    mdc: 188736,
    mdcName: "MDC_MASS_BODY_ACTUAL",
    unit: "kg",
    range: [0.5, 500],
    decimals: 3,
    label: "body weight",
  },
  glucose: {
    loinc: "2339-0",
    snomed: "434912009",
    mdc: 160184,
    mdcName: "MDC_CONC_GLU_CAPILLARY_WHOLEBLOOD",
    unit: "mg/dL",
    range: [10, 1000],
    decimals: 1,
    label: "blood glucose",
  },
  "respiratory-rate": {
    loinc: "9279-1",
    snomed: "86290005",
    mdc: 151562,
    mdcName: "MDC_RESP_RATE",
    unit: "/min",
    range: [2, 80],
    decimals: 1,
    label: "respiratory rate",
  },
  "peak-flow": {
    loinc: "19935-6",
    snomed: "18491006",
    mdc: 152584,
    mdcName: "MDC_FLOW_AWAY_EXP_FORCED_PEAK",
    unit: "L/min",
    range: [30, 1000],
    decimals: 1,
    label: "peak expiratory flow",
  },
};

/** LOINC for glucose reported as a molar concentration. */
export const LOINC_GLUCOSE_MOLAR = "15074-8";
