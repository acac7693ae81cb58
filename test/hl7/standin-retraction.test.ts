import { describe, expect, it } from "vitest";
import { buildOruR01 } from "../../src/forward/hl7/messages.js";
import { buildRetraction } from "../../src/forward/hl7/retraction.js";
import { PkbHl7Registry } from "../standin/hl7/pkb-hl7.js";
import { bpReading, NOW, SCT, sender } from "./fixtures.js";
import { NHS } from "./harness.js";

const patient = { nhsNumber: NHS, firstName: "Ann", lastName: "Example", dob: "1950-01-31", sex: "F" };

function registry(): PkbHl7Registry {
  const r = new PkbHl7Registry(["DEMOALIAS"]);
  r.patients.set(NHS, { ...patient });
  return r;
}

const oru = (report: string, controlId: string) =>
  buildOruR01(sender(), patient, [bpReading()], report, controlId, NOW, SCT);
const code = (answer: string) => /MSA\|([A-Z]{2})/.exec(answer)?.[1];

describe("HL7 stand-in: retraction (OBR-25 R) as PKB describes it", () => {
  it("counts live copies per report id; a retraction deletes every copy received under it", () => {
    const r = registry();
    expect(code(r.handle(oru("rep-1", "c1")))).toBe("AA");
    expect(code(r.handle(oru("rep-1", "c2")))).toBe("AA"); // PKB stores a re-send again
    expect(code(r.handle(oru("rep-2", "c3")))).toBe("AA");
    expect(r.liveCopies("rep-1")).toBe(2);
    expect(r.reports.duplicated()).toEqual(new Map([["rep-1", 2]]));
    expect(code(r.handle(buildRetraction(oru("rep-1", "c1"), "c4", "20260701123005")))).toBe("AA");
    expect(r.liveCopies("rep-1")).toBe(0);
    expect(r.liveCopies("rep-2")).toBe(1);
    expect(r.liveOrus().map((c) => c.controlId)).toEqual(["c3"]);
    expect(r.observationsFor(NHS)).toHaveLength(2); // rep-2's systolic and diastolic
    expect(code(r.handle(oru("rep-1", "c5")))).toBe("AA");
    expect(r.liveCopies("rep-1")).toBe(1);
  });

  it("a retraction of a report with nothing live is accepted and deletes nothing; its OBX are ignored", () => {
    const r = registry();
    r.handle(oru("rep-2", "c1"));
    expect(code(r.handle(buildRetraction(oru("rep-1", "c0"), "c2", "20260701123005")))).toBe("AA");
    // OBX left in a retraction are not stored as new measurements.
    const withObx = oru("rep-2", "c3").replace(/^(OBR\|[^\r]*)$/m, (s) => `${s}${"|".repeat(18)}R`);
    expect(withObx).toMatch(/OBR\|(?:[^|\r]*\|){24}R\r/);
    expect(code(r.handle(withObx))).toBe("AA");
    expect(r.liveCopies("rep-2")).toBe(0);
    expect(r.observationsFor(NHS)).toHaveLength(0);
    expect(r.reports.retractions).toBe(2);
  });

  it("a retraction without a report id is refused (AR)", () => {
    const r = registry();
    const noId = buildRetraction(oru("rep-1", "c1"), "c2", "20260701123005").replace("|rep-1|", "||");
    expect(code(r.handle(noId))).toBe("AR");
  });
});
