import { describe, expect, it } from "vitest";
import {
  convert,
  convertRounded,
  GLUCOSE_MG_PER_MMOL,
  KG_PER_LB,
  PA_PER_MMHG,
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
