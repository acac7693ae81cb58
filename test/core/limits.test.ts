import { describe, expect, it } from "vitest";
import type { ComponentId } from "../../src/core/codes.js";
import { finishReading } from "../../src/core/finish.js";
import { describeLimits, HARD_LIMITS, isImpossible } from "../../src/core/limits.js";
import { finishCtx, finishOne } from "./fixtures.js";

describe("hard limits: physically impossible values are quarantined, never forwarded", () => {
  it("quarantines -1e127 °C, a systolic of -1.5e11 mmHg and a glucose of 2e15 mg/dL", () => {
    const cold = finishOne("body-temperature", -1e127, "Cel");
    expect(cold.quarantine).toBe("physically impossible: body-temperature must be >= 10 and <= 50 Cel");
    expect(cold.flags).toEqual(["impossible:body-temperature"]);

    const bp = finishReading(
      {
        kind: "blood-pressure",
        components: [
          { id: "bp-systolic", value: -1.5e11, unit: "mm[Hg]" },
          { id: "bp-diastolic", value: 80, unit: "mm[Hg]" },
        ],
      },
      finishCtx(),
    );
    expect(bp.quarantine).toBe("physically impossible: bp-systolic must be > 0 and <= 500 mm[Hg]");
    expect(bp.flags).toEqual(["impossible:bp-systolic"]);

    const sweet = finishOne("glucose", 2e15, "mg/dL");
    expect(sweet.quarantine).toBe("physically impossible: glucose must be > 0 and <= 5000 mg/dL");
    expect(sweet.flags).toEqual(["impossible:glucose"]);
  });

  it("the quarantine reason names every impossible component and its limits, never a value", () => {
    const r = finishReading(
      {
        kind: "blood-pressure",
        components: [
          { id: "bp-systolic", value: 987654, unit: "mm[Hg]" },
          { id: "bp-diastolic", value: -123456, unit: "mm[Hg]" },
          { id: "pulse-rate", value: 71, unit: "/min" },
        ],
      },
      finishCtx(),
    );
    expect(r.quarantine).toBe(
      "physically impossible: bp-systolic must be > 0 and <= 500 mm[Hg]; bp-diastolic must be > 0 and <= 400 mm[Hg]",
    );
    expect(r.quarantine).not.toMatch(/987654|123456/);
    expect(r.flags).toEqual(["impossible:bp-systolic", "impossible:bp-diastolic"]);
  });

  it("keeps real extremes: glucose 35 mg/dL, 32 °C hypothermia, 260/140 mmHg, SpO2 62 %", () => {
    const cases: Array<[ComponentId, number, "mg/dL" | "Cel" | "mm[Hg]" | "%", string[]]> = [
      ["glucose", 35, "mg/dL", []],
      ["body-temperature", 32, "Cel", []],
      ["body-temperature", 13.7, "Cel", ["out-of-range:body-temperature"]],
      ["bp-systolic", 260, "mm[Hg]", []],
      ["bp-systolic", 320, "mm[Hg]", ["out-of-range:bp-systolic"]],
      ["bp-diastolic", 140, "mm[Hg]", []],
      ["spo2", 62, "%", []],
      ["spo2", 40, "%", ["out-of-range:spo2"]],
      ["glucose", 1500, "mg/dL", ["out-of-range:glucose"]],
    ];
    for (const [id, value, unit, flags] of cases) {
      const r = finishOne(id, value, unit);
      expect(r.quarantine, `${id} ${value}`).toBeUndefined();
      expect(r.flags, `${id} ${value}`).toEqual(flags);
      expect(r.components[0]?.value).toBe(value);
    }
  });

  it("checks the limits in the canonical unit: 98.6 °F is 37 °C, 98.6 °C is impossible", () => {
    expect(finishOne("body-temperature", 98.6, "[degF]").quarantine).toBeUndefined();
    expect(finishOne("body-temperature", 98.6, "Cel").flags).toEqual(["impossible:body-temperature"]);
    // 300 mmol/L is 5404.7 mg/dL: beyond any survived glucose.
    expect(finishOne("glucose", 300, "mmol/L").flags).toEqual(["impossible:glucose"]);
    expect(finishOne("glucose", 2.2, "mmol/L").flags).toEqual([]);
  });

  it("non-finite values stay READING_INVALID, also when a conversion overflows", () => {
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      expect(() => finishOne("spo2", value, "%")).toThrow(
        expect.objectContaining({
          code: "READING_INVALID",
          message: "component spo2 is not a finite number",
        }),
      );
    }
    expect(() => finishOne("glucose", 1.7e308, "mmol/L")).toThrow(
      expect.objectContaining({
        code: "READING_INVALID",
        message: "component glucose is beyond any number in mg/dL",
      }),
    );
  });

  it("the limit table, edge by edge (canonical units)", () => {
    // [component, min, minExclusive, max], written out independently of src/core/limits.ts.
    const table: Array<[string, number, boolean, number]> = [
      ["bp-systolic", 0, true, 500],
      ["bp-diastolic", 0, true, 400],
      ["bp-mean", 0, true, 450],
      ["pulse-rate", 0, true, 600],
      ["heart-rate", 0, true, 600],
      ["spo2", 0, false, 100],
      ["body-temperature", 10, false, 50],
      ["body-weight", 0, true, 700],
      ["glucose", 0, true, 5000],
      ["respiratory-rate", 0, false, 200],
      ["peak-flow", 0, true, 1500],
    ];
    expect(HARD_LIMITS).toEqual(
      Object.fromEntries(table.map(([id, min, minExclusive, max]) => [id, { min, minExclusive, max }])),
    );
    // Exclusive minimum: the minimum itself is impossible, just above it is possible.
    expect(isImpossible("bp-systolic", 0)).toBe(true);
    expect(isImpossible("bp-systolic", 0.1)).toBe(false);
    expect(isImpossible("bp-systolic", 500)).toBe(false);
    expect(isImpossible("bp-systolic", 500.1)).toBe(true);
    // Inclusive minimum.
    expect(isImpossible("spo2", 0)).toBe(false);
    expect(isImpossible("spo2", -0.1)).toBe(true);
    expect(isImpossible("spo2", 100)).toBe(false);
    expect(isImpossible("spo2", 100.1)).toBe(true);
    expect(isImpossible("body-temperature", 10)).toBe(false);
    expect(isImpossible("body-temperature", 9.99)).toBe(true);
    expect(isImpossible("respiratory-rate", 0)).toBe(false);
    expect(isImpossible("glucose", Number.NaN)).toBe(true);
  });

  it("describes the limits in words with the canonical unit", () => {
    expect(describeLimits("spo2")).toBe("spo2 must be >= 0 and <= 100 %");
    expect(describeLimits("body-weight")).toBe("body-weight must be > 0 and <= 700 kg");
    expect(describeLimits("peak-flow")).toBe("peak-flow must be > 0 and <= 1500 L/min");
  });
});
