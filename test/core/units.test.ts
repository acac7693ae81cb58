import { describe, expect, it } from "vitest";
import {
  canConvert,
  convert,
  convertRounded,
  GLUCOSE_MG_PER_MMOL,
  isUcum,
  KG_PER_LB,
  PA_PER_MMHG,
  roundFor,
  UNITS,
  unitDecimals,
} from "../../src/core/units.js";

describe("unit conversion", () => {
  it("uses the defining factors", () => {
    expect(PA_PER_MMHG).toBe(133.322387415);
    expect(KG_PER_LB).toBe(0.45359237);
    expect(GLUCOSE_MG_PER_MMOL).toBeCloseTo(18.0156, 10);
  });

  it("kPa <-> mm[Hg]", () => {
    expect(convert(1, "kPa", "mm[Hg]")).toBeCloseTo(7.500615758, 8);
    expect(convert(120, "mm[Hg]", "kPa")).toBeCloseTo(15.99868649, 8);
    expect(convert(convert(16, "kPa", "mm[Hg]"), "mm[Hg]", "kPa")).toBeCloseTo(16, 12);
    expect(convertRounded(16, "kPa", "mm[Hg]")).toBe(120);
  });

  it("degF <-> Cel", () => {
    expect(convert(98.6, "[degF]", "Cel")).toBeCloseTo(37, 12);
    expect(convert(-40, "Cel", "[degF]")).toBe(-40);
    expect(convert(212, "[degF]", "Cel")).toBe(100);
  });

  it("lb <-> kg", () => {
    expect(convert(1, "[lb_av]", "kg")).toBe(0.45359237);
    expect(convertRounded(154.32, "[lb_av]", "kg")).toBe(69.998);
    expect(convert(70, "kg", "[lb_av]")).toBeCloseTo(154.3235835, 6);
  });

  it("glucose mmol/L <-> mg/dL", () => {
    expect(convert(5.5, "mmol/L", "mg/dL")).toBeCloseTo(99.0858, 10);
    expect(convertRounded(7.9, "mmol/L", "mg/dL")).toBe(142.3);
    expect(convert(180.156, "mg/dL", "mmol/L")).toBeCloseTo(10, 12);
  });

  it("refuses conversions between unrelated units", () => {
    expect(() => convert(1, "kg", "Cel")).toThrow(expect.objectContaining({ code: "READING_INVALID" }));
  });
});

describe("units, pair by pair", () => {
  it("every conversion the agent knows, both ways, with exact results", () => {
    expect(convert(133.322387415, "kPa", "mm[Hg]")).toBeCloseTo(1000, 9);
    expect(convert(1000, "mm[Hg]", "kPa")).toBeCloseTo(133.322387415, 9);
    expect(convert(50, "[degF]", "Cel")).toBe(10);
    expect(convert(10, "Cel", "[degF]")).toBe(50);
    expect(convert(37, "Cel", "[degF]")).toBeCloseTo(98.6, 12);
    expect(convert(2, "[lb_av]", "kg")).toBe(0.90718474);
    expect(convert(0.90718474, "kg", "[lb_av]")).toBe(2);
    expect(convert(2, "mmol/L", "mg/dL")).toBeCloseTo(36.0312, 12);
    expect(convert(36.0312, "mg/dL", "mmol/L")).toBeCloseTo(2, 12);
    expect(convert(42, "%", "%")).toBe(42);
  });

  it("knows which pairs convert", () => {
    expect(canConvert("kPa", "mm[Hg]")).toBe(true);
    expect(canConvert("mm[Hg]", "mm[Hg]")).toBe(true);
    expect(canConvert("[degF]", "Cel")).toBe(true);
    expect(canConvert("kg", "Cel")).toBe(false);
    expect(canConvert("%", "/min")).toBe(false);
    expect(canConvert("kJ", "kg")).toBe(false);
    expect(() => convert(1, "%", "/min")).toThrow(
      expect.objectContaining({ code: "READING_INVALID", message: "no conversion from % to /min" }),
    );
  });

  it("knows the UCUM codes it handles and nothing else", () => {
    expect([...UNITS]).toEqual("mm[Hg] kPa Cel [degF] kg [lb_av] mg/dL mmol/L % /min L/min kJ".split(" "));
    for (const u of UNITS) expect(isUcum(u)).toBe(true);
    for (const u of ["mmHg", "degC", "°C", "lb", "bpm", ""]) expect(isUcum(u)).toBe(false);
  });

  it("rounds to each unit's resolution after a conversion; the same unit is left as it is", () => {
    // unit:decimals, written out independently of src/core/units.ts.
    const decimals = "mm[Hg]:1 kPa:2 Cel:2 [degF]:1 kg:3 [lb_av]:2 mg/dL:1 mmol/L:2 %:1 /min:1 L/min:1 kJ:0";
    expect(UNITS.map((u) => `${u}:${unitDecimals(u)}`).join(" ")).toBe(decimals);
    expect(roundFor("kJ", 12.5)).toBe(13);
    expect(roundFor("kg", 70.0004)).toBe(70);
    expect(convertRounded(99.1, "mg/dL", "mmol/L")).toBe(5.5);
    expect(convertRounded(120, "mm[Hg]", "kPa")).toBe(16);
    expect(convertRounded(37, "Cel", "[degF]")).toBe(98.6);
    expect(convertRounded(70, "kg", "[lb_av]")).toBe(154.32);
    expect(convertRounded(55.99999999999999, "mg/dL", "mg/dL")).toBe(55.99999999999999);
  });
});
