import { describe, expect, it } from "vitest";
import { CODES, COMPONENT_IDS, LOINC_GLUCOSE_MOLAR, READING_KINDS } from "../../src/core/codes.js";

/**
 * The code table against /shared DEVICES.md "Codes and units": a wrong code files a value under
 * another measurement at PKB (HL7 matches SNOMED CT + unit), so every cell is checked.
 */
describe("the code table", () => {
  it("every component's LOINC, SNOMED CT, MDC code and name, canonical unit and label", () => {
    const rows = Object.fromEntries(
      COMPONENT_IDS.map((id) => {
        const r = CODES[id];
        return [id, [r.loinc, r.snomed, r.mdc, r.mdcName, r.unit, r.label]];
      }),
    );
    expect(rows).toEqual({
      "bp-systolic": [
        "8480-6",
        "72313002",
        150021,
        "MDC_PRESS_BLD_NONINV_SYS",
        "mm[Hg]",
        "systolic blood pressure",
      ],
      "bp-diastolic": [
        "8462-4",
        "1091811000000102",
        150022,
        "MDC_PRESS_BLD_NONINV_DIA",
        "mm[Hg]",
        "diastolic blood pressure",
      ],
      "bp-mean": [
        "8478-0",
        "6797001",
        150023,
        "MDC_PRESS_BLD_NONINV_MEAN",
        "mm[Hg]",
        "mean arterial pressure",
      ],
      "pulse-rate": ["8867-4", "78564009", 149546, "MDC_PULS_RATE_NON_INV", "/min", "pulse rate"],
      "heart-rate": ["8867-4", "364075005", 147842, "MDC_ECG_HEART_RATE", "/min", "heart rate"],
      spo2: ["59408-5", "431314004", 150456, "MDC_PULS_OXIM_SAT_O2", "%", "oxygen saturation"],
      "body-temperature": ["8310-5", "386725007", 150364, "MDC_TEMP_BODY", "Cel", "body temperature"],
      "body-weight": ["29463-7", "27113001", 188736, "MDC_MASS_BODY_ACTUAL", "kg", "body weight"],
      glucose: ["2339-0", "434912009", 160184, "MDC_CONC_GLU_CAPILLARY_WHOLEBLOOD", "mg/dL", "blood glucose"],
      "respiratory-rate": ["9279-1", "86290005", 151562, "MDC_RESP_RATE", "/min", "respiratory rate"],
      "peak-flow": [
        "19935-6",
        "18491006",
        152584,
        "MDC_FLOW_AWAY_EXP_FORCED_PEAK",
        "L/min",
        "peak expiratory flow",
      ],
    });
    expect(LOINC_GLUCOSE_MOLAR).toBe("15074-8");
  });

  it("the physiological ranges that flag (never drop) a value", () => {
    expect(Object.fromEntries(COMPONENT_IDS.map((id) => [id, CODES[id].range]))).toEqual({
      "bp-systolic": [40, 300],
      "bp-diastolic": [20, 200],
      "bp-mean": [30, 250],
      "pulse-rate": [20, 300],
      "heart-rate": [20, 300],
      spo2: [50, 100],
      "body-temperature": [25, 45],
      "body-weight": [0.5, 500],
      glucose: [10, 1000],
      "respiratory-rate": [2, 80],
      "peak-flow": [30, 1000],
    });
  });

  it("the component ids and reading kinds", () => {
    expect(Object.keys(CODES)).toEqual([...COMPONENT_IDS]);
    expect(COMPONENT_IDS).toHaveLength(11);
    expect(READING_KINDS).toEqual(
      "blood-pressure pulse spo2 temperature weight glucose heart-rate respiratory-rate peak-flow".split(" "),
    );
  });
});
