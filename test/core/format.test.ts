import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeGlucose } from "../../drivers/ble-glucose/index.js";
import { CODES, COMPONENT_IDS } from "../../src/core/codes.js";
import { finishReading } from "../../src/core/finish.js";
import { formatValue } from "../../src/core/format.js";
import { roundTo } from "../../src/core/units.js";
import { finishCtx, finishOne } from "./fixtures.js";

describe("float noise: every value rounded once, in the core, to its component's resolution", () => {
  it("56 mg/dL from a BLE glucose meter in kg/L leaves the core as exactly 56", () => {
    // flags 02: concentration in kg/L | seq 5 | 2026-11-24 07:00:00 | 0.00056 kg/L (38B0: exponent
    // -5, mantissa 56) | capillary whole blood, finger. The driver computes 55.99999999999999.
    const [draft] = decodeGlucose(Uint8Array.from(Buffer.from("020500ea070b1807000038b011", "hex")));
    if (!draft) throw new Error("the frame decodes to one draft");
    const r = finishReading(draft, finishCtx());
    expect(r.components[0]?.value).toBe(56);
    expect(String(r.components[0]?.value)).toBe("56");
    expect(formatValue(r.components[0]?.value ?? Number.NaN, "glucose")).toBe("56");
  });

  it("rounds values in the canonical unit too, not only converted ones", () => {
    expect(finishOne("glucose", 0.1 + 0.2 + 99.7, "mg/dL").components[0]?.value).toBe(100);
    expect(finishOne("body-temperature", 36.849999999999994, "Cel").components[0]?.value).toBe(36.85);
    expect(finishOne("bp-systolic", 120.04, "mm[Hg]").components[0]?.value).toBe(120);
    expect(finishOne("body-weight", 70.12345, "kg").components[0]?.value).toBe(70.123);
    expect(finishOne("spo2", 97.25, "%").components[0]?.value).toBe(97.3);
  });

  it("rounds converted values to the component's resolution", () => {
    expect(finishOne("body-temperature", 98.6, "[degF]").components[0]?.value).toBe(37);
    expect(finishOne("glucose", 7.9, "mmol/L").components[0]?.value).toBe(142.3);
    expect(finishOne("glucose", 5.5, "mmol/L").components[0]?.value).toBe(99.1);
    expect(finishOne("body-weight", 154.32, "[lb_av]").components[0]?.value).toBe(69.998);
    expect(finishOne("bp-diastolic", 10.7, "kPa").components[0]?.value).toBe(80.3);
  });

  it("the resolution table per component", () => {
    expect(Object.fromEntries(COMPONENT_IDS.map((id) => [id, CODES[id].decimals]))).toEqual({
      "bp-systolic": 1,
      "bp-diastolic": 1,
      "bp-mean": 1,
      "pulse-rate": 1,
      "heart-rate": 1,
      spo2: 1,
      "body-temperature": 2,
      "body-weight": 3,
      glucose: 1,
      "respiratory-rate": 1,
      "peak-flow": 1,
    });
  });
});

describe("roundTo", () => {
  it("rounds the decimal the value shows, half away from zero", () => {
    expect(roundTo(1.005, 2)).toBe(1.01);
    expect(roundTo(55.99999999999999, 1)).toBe(56);
    expect(roundTo(2.5, 0)).toBe(3);
    expect(roundTo(-2.5, 0)).toBe(-3);
    expect(roundTo(-36.845, 2)).toBe(-36.85);
    expect(roundTo(0.000001, 3)).toBe(0);
    expect(roundTo(123.4, 0)).toBe(123);
  });

  it("never returns -0, rounds the tiny to 0 and leaves the huge and the non-finite alone", () => {
    expect(Object.is(roundTo(-0.0004, 3), 0)).toBe(true);
    expect(Object.is(roundTo(-0, 1), 0)).toBe(true);
    expect(roundTo(5e-324, 3)).toBe(0);
    expect(roundTo(-1e-7, 1)).toBe(0);
    expect(roundTo(999_999_999_999_999.9, 0)).toBe(1e15);
    expect(roundTo(1e15 + 0.125, 1)).toBe(1e15 + 0.125);
    expect(roundTo(-1e127, 2)).toBe(-1e127);
    expect(roundTo(Number.POSITIVE_INFINITY, 2)).toBe(Number.POSITIVE_INFINITY);
    expect(roundTo(Number.NaN, 2)).toBeNaN();
  });
});

describe("formatValue: decimal text for the routes, never exponent notation", () => {
  it("writes the component's resolution without trailing zeros", () => {
    expect(formatValue(56, "glucose")).toBe("56");
    expect(formatValue(55.99999999999999, "glucose")).toBe("56");
    expect(formatValue(80.25, "bp-diastolic")).toBe("80.3");
    expect(formatValue(36.5, "body-temperature")).toBe("36.5");
    expect(formatValue(36.856, "body-temperature")).toBe("36.86");
    expect(formatValue(70.1, "body-weight")).toBe("70.1");
    expect(formatValue(0.1 + 0.2, "body-weight")).toBe("0.3");
    expect(formatValue(100, "spo2")).toBe("100");
    expect(formatValue(0, "respiratory-rate")).toBe("0");
    expect(formatValue(-0.04, "respiratory-rate")).toBe("0");
  });

  it("uses another unit's resolution when a route sends another unit", () => {
    expect(formatValue(100, "body-weight", "kJ")).toBe("100");
    expect(formatValue(1250.4, "body-weight", "kJ")).toBe("1250");
    expect(formatValue(5.4999999, "glucose", "mmol/L")).toBe("5.5");
    expect(formatValue(5.456, "glucose", "mmol/L")).toBe("5.46");
    expect(formatValue(5.456, "glucose", "mg/dL")).toBe("5.5");
    expect(formatValue(98.64, "body-temperature", "[degF]")).toBe("98.6");
  });

  it("writes tiny and huge numbers out in full", () => {
    expect(formatValue(1e-7, "glucose")).toBe("0");
    expect(formatValue(5e-324, "body-weight")).toBe("0");
    expect(formatValue(1e21, "glucose")).toBe("1000000000000000000000");
    expect(formatValue(-1.5e11, "bp-systolic")).toBe("-150000000000");
    expect(formatValue(2e15, "glucose")).toBe("2000000000000000");
    expect(formatValue(-1e127, "body-temperature")).toBe(BigInt(-1e127).toString());
    expect(formatValue(Number.MAX_VALUE, "glucose")).toMatch(/^17976931348623157\d{292}$/);
  });

  it("refuses a non-finite value", () => {
    expect(() => formatValue(Number.NaN, "spo2")).toThrow(
      expect.objectContaining({ code: "READING_INVALID", message: "component spo2 is not a finite number" }),
    );
    expect(() => formatValue(Number.NEGATIVE_INFINITY, "spo2")).toThrow(
      expect.objectContaining({ code: "READING_INVALID" }),
    );
  });

  it("any finite double: plain decimal text that reads back as the rounded value", () => {
    fc.assert(
      fc.property(
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.constantFrom(...COMPONENT_IDS),
        (v, id) => {
          const text = formatValue(v, id);
          expect(text).toMatch(/^-?\d+(\.\d+)?$/);
          expect(text).not.toMatch(/\.\d*0$/);
          expect(text).not.toBe("-0");
          expect(Number(text)).toBe(roundTo(v, CODES[id].decimals));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
