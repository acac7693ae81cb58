import { tmpdir } from "node:os";
import { describe, expect, it } from "vitest";
import type { ComponentId } from "../../src/core/codes.js";
import { IndependentHl7 } from "../../src/forward/hl7/standard.js";
import { testContext } from "../support/context.js";
import { contourFrameIntoBuffer } from "../support/contour.js";
import { until } from "../support/wait.js";
import { NHS, useHl7Harness } from "./harness.js";

const t = useHl7Harness();

const bp = (systolic: number, diastolic: number) => ({
  kind: "blood-pressure" as const,
  components: [
    { id: "bp-systolic" as ComponentId, value: systolic, unit: "mm[Hg]" as const },
    { id: "bp-diastolic" as ComponentId, value: diastolic, unit: "mm[Hg]" as const },
  ],
});

describe("HL7 observations", () => {
  it("a batch of blood pressures taken at the same instant pairs each systolic with its own diastolic (OBX-4)", async () => {
    const { h } = t;
    h.knownToHub();
    await h.buffer.ingest([h.reading(bp(120, 80)), h.reading(bp(160, 95)), h.reading(bp(140, 70))]);
    h.start();
    await until(() => h.stats().byState.delivered === 3);
    expect(h.types()).toEqual(["ORU^R01"]);
    const obs = h.pkb.registry.observationsFor(NHS);
    expect(new Set(obs.map((o) => o.time)).size).toBe(1); // one instant: only OBX-4 tells them apart
    const pairs = [...new Set(obs.map((o) => o.group))].map((g) =>
      obs.filter((o) => o.group === g).map((o) => o.value),
    );
    expect(pairs).toEqual([
      [120, 80],
      [160, 95],
      [140, 70],
    ]);
    const subIds = new IndependentHl7(h.captures()[0]?.text ?? "").segments("OBX").map((o) => o.get("OBX.4"));
    expect(subIds).toEqual(["1", "1", "2", "2", "3", "3"]);
  });

  it("OBX-8 '>' and '<' for the device's HI and LO, nothing for an unusual value (no clinical judgement); every flag in an NTE after each OBX it concerns, ambiguous local time included", async () => {
    const { h } = t;
    h.knownToHub();
    await h.buffer.ingest([
      h.reading(bp(310, 80)), // beyond the code table's expected range: unusual, kept, flagged out-of-range
      h.reading({
        kind: "glucose",
        components: [{ id: "glucose", value: 600, unit: "mg/dL" }],
        flags: ["above-measuring-range:glucose"],
      }),
      h.reading({
        kind: "glucose",
        components: [{ id: "glucose", value: 20, unit: "mg/dL" }],
        flags: ["below-measuring-range:glucose"],
      }),
      // The repeated hour of a clock change: a reading the hub could not place for certain.
      h.reading({ ...bp(120, 80), flags: ["ambiguous-local-time"] }),
    ]);
    h.start();
    await until(() => h.stats().byState.delivered === 4);
    const obs = h.pkb.registry.observationsFor(NHS);
    expect(obs.map((o) => [o.value, o.abnormal])).toEqual([
      [310, ""],
      [80, ""],
      [33.3, ">"],
      [1.11, "<"],
      [120, ""],
      [80, ""],
    ]);
    // Read back by hl7-standard, a parser we did not write: each OBX's own notes, in order.
    const sent = new IndependentHl7(h.captures()[0]?.text ?? "");
    const notes = sent
      .segments("OBX")
      .map((o) =>
        o.following("NTE").map((n) => [n.get("NTE.1"), n.get("NTE.2"), n.get("NTE.3"), n.get("NTE.4.1")]),
      );
    const note = (flag: string, meaning: RegExp) => [
      ["1", "L", expect.stringMatching(new RegExp(`^${flag}: ${meaning.source}`)), "RE"],
    ];
    expect(notes).toEqual([
      note("out-of-range:bp-systolic", /outside the range expected of a home measurement/),
      [],
      note("above-measuring-range:glucose", /the device showed HI/),
      note("below-measuring-range:glucose", /the device showed LO/),
      note("ambiguous-local-time", /the device's local time fell in the hour repeated by a clock change/),
      note("ambiguous-local-time", /the device's local time fell in the hour repeated by a clock change/),
    ]);
  });

  it("a Contour HI result (marker >) taken from the meter's frame arrives at the HL7 stand-in with OBX-8 '>' and its note", async () => {
    const { h } = t;
    h.knownToHub();
    await contourFrameIntoBuffer(testContext(h.buffer, h.clock, tmpdir()), h.patientKey);
    h.start();
    await until(() => h.stats().byState.delivered === 1);
    expect(h.pkb.registry.observationsFor(NHS).map((o) => [o.value, o.unit, o.abnormal])).toEqual([
      [33.3, "mmol/L", ">"],
    ]);
    const [obx] = new IndependentHl7(h.captures()[0]?.text ?? "").segments("OBX");
    expect(obx?.following("NTE").map((n) => n.get("NTE.3").split(":")[0])).toEqual(["above-measuring-range"]);
  });

  it("the stand-in refuses two values of one type at one instant that OBX-4 does not tell apart", () => {
    const { h } = t;
    h.knownToPkb();
    const seg = (sub: string, value: string) =>
      `OBX|1|NM|72313002^systolic blood pressure^SCT|${sub}|${value}|mm[Hg]|||||F|||20260101120000+0000`;
    const msg = (a: string, b: string) =>
      [
        "MSH|^~\\&|PKBHUB|DEMOALIAS|HL7API|PKB|20260101120000||ORU^R01^ORU_R01|c1|P|2.4",
        `PID|1||${NHS}^^^NHS^NH||E^A||19500131|F`,
        "OBR|1||r1|MEASUREMENTS||||20260101120000+0000",
        seg(a, "120"),
        seg(b, "140"),
      ].join("\r");
    expect(h.pkb.registry.handle(msg("", ""))).toContain("MSA|AR|c1|Several 72313002 at 20260101120000+0000");
    expect(h.pkb.registry.handle(msg("1", "2"))).toContain("MSA|AA|c1");
  });
});
