import { describe, expect, it } from "vitest";
import { UNIT_SPELLINGS, unitProblem, valueIn } from "../../src/forward/hl7/units.js";
import { until } from "../support/wait.js";
import { NHS, useHl7Harness } from "./harness.js";

const t = useHl7Harness();

const GLUCOSE = "434912009";
const WEIGHT = "27113001";

describe("HL7 units: the value PKB stores is the value measured", () => {
  it("a glucose unit spelled mmol/l carries mmol/L (5.5), not the mg/dL number (99.1)", async () => {
    const { h } = t;
    h.knownToHub();
    h.pkb.registry.allowedPairs.add(`${GLUCOSE}|mmol/l`);
    await h.buffer.ingest([
      h.reading({ kind: "glucose", components: [{ id: "glucose", value: 5.5, unit: "mmol/L" }] }),
    ]);
    h.start(h.config({ snomed: { glucose: { code: GLUCOSE, unit: "mmol/l" } } }));
    await until(() => h.stats().byState.delivered === 1);
    expect(h.pkb.registry.observationsFor(NHS).map((o) => [o.unit, o.value])).toEqual([["mmol/l", 5.5]]);
  });

  it("a weight unit spelled lb carries 80 kg as 176.37 lb, never 80 labelled lb", async () => {
    const { h } = t;
    h.knownToHub();
    h.pkb.registry.allowedPairs.add(`${WEIGHT}|lb`);
    await h.buffer.ingest([
      h.reading({ kind: "weight", components: [{ id: "body-weight", value: 80, unit: "kg" }] }),
    ]);
    h.start(h.config({ snomed: { "body-weight": { code: WEIGHT, unit: "lb" } } }));
    await until(() => h.stats().byState.delivered === 1);
    expect(h.pkb.registry.observationsFor(NHS).map((o) => [o.unit, o.value])).toEqual([["lb", 176.37]]);
    expect(h.captures()[0]?.text).toContain("|NM|27113001^body weight^SCT|1|176.37|lb|");
  });

  it("glucose goes in mmol/L by default (NHS practice): a meter's 99.1 mg/dL arrives as 5.5 mmol/L", async () => {
    const { h } = t;
    h.knownToHub();
    await h.buffer.ingest([
      h.reading({ kind: "glucose", components: [{ id: "glucose", value: 99.1, unit: "mg/dL" }] }),
    ]);
    h.start();
    await until(() => h.stats().byState.delivered === 1);
    expect(h.pkb.registry.observationsFor(NHS).map((o) => [o.code, o.unit, o.value])).toEqual([
      [GLUCOSE, "mmol/L", 5.5],
    ]);
  });

  it("the OBX-3.3 coding-system string is configurable (a PKB that expects SNOMED-CT gets it)", async () => {
    const { h } = t;
    h.knownToHub();
    h.pkb.registry.codingSystem = "SNOMED-CT";
    await h.buffer.ingest([h.reading()]);
    h.start(h.config({ codingSystem: "SNOMED-CT" }));
    await until(() => h.stats().byState.delivered === 1);
    expect(h.captures()[0]?.text).toContain("|72313002^systolic blood pressure^SNOMED-CT|");
    expect(h.config().routes.hl7?.codingSystem).toBe("SCT");
    for (const bad of ["", "S CT", "SC|T", "S^T", "x".repeat(21)])
      expect(() => h.config({ codingSystem: bad }), bad).toThrow(
        expect.objectContaining({
          code: "CONFIG_INVALID",
          message: expect.stringContaining("routes.hl7.codingSystem"),
        }),
      );
  });

  it("a unit the hub cannot convert to is refused at load, with its path", () => {
    const { h } = t;
    const cases: Array<[string, string, string]> = [
      ["glucose", "mmol/x", "unit 'mmol/x' is not one the hub converts to"],
      ["glucose", "MMOL/L", "unit 'MMOL/L' is not one the hub converts to"],
      ["body-weight", "mmol/L", "unit 'mmol/L' cannot carry body weight (measured in kg)"],
      ["spo2", "bpm", "unit 'bpm' cannot carry oxygen saturation (measured in %)"],
      ["respiratory-rate", "{beats}/min", "unit '{beats}/min' cannot carry respiratory rate"],
      ["pulse-rate", "breaths/min", "unit 'breaths/min' cannot carry pulse rate"],
      ["bp-systolic", "constructor", "unit 'constructor' is not one the hub converts to"],
    ];
    for (const [id, unit, why] of cases) {
      expect(() => h.config({ snomed: { [id]: { code: "1", unit } } }), `${id} ${unit}`).toThrow(
        expect.objectContaining({
          code: "CONFIG_INVALID",
          message: expect.stringContaining(`routes.hl7.snomed.${id}.unit: ${why}`),
        }),
      );
    }
  });

  it("every accepted spelling converts exactly to the UCUM unit it names", () => {
    const systolic = { id: "bp-systolic", value: 120, unit: "mm[Hg]" } as const;
    expect(valueIn(systolic, "mmHg")).toBe("120");
    expect(valueIn(systolic, "kPa")).toBe("16");
    expect(valueIn({ id: "body-temperature", value: 37, unit: "Cel" }, "°F")).toBe("98.6");
    expect(valueIn({ id: "body-temperature", value: 37, unit: "Cel" }, "degC")).toBe("37");
    expect(valueIn({ id: "glucose", value: 99.1, unit: "mg/dL" }, "mg/dl")).toBe("99.1");
    expect(valueIn({ id: "pulse-rate", value: 72, unit: "/min" }, "bpm")).toBe("72");
    expect(valueIn({ id: "peak-flow", value: 450, unit: "L/min" }, "l/min")).toBe("450");
    expect(() => valueIn(systolic, "mmol/l")).toThrow(expect.objectContaining({ code: "CONFIG_INVALID" }));
    expect(unitProblem("spo2", "%")).toBeUndefined();
    expect(Object.keys(UNIT_SPELLINGS)).toHaveLength(26);
  });
});
