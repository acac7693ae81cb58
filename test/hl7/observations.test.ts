import { describe, expect, it } from "vitest";
import type { ComponentId } from "../../src/core/codes.js";
import { IndependentHl7 } from "../../src/forward/hl7/standard.js";
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

  it("OBX-8: no 'A' for an unusual value (no clinical judgement); '>' and '<' for the device's HI and LO", async () => {
    const { h } = t;
    h.knownToHub();
    await h.buffer.ingest([
      h.reading(bp(310, 80)), // beyond the code table's plausible range: flagged out-of-range in the hub only
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
    ]);
    h.start();
    await until(() => h.stats().byState.delivered === 3);
    const obs = h.pkb.registry.observationsFor(NHS);
    expect(obs.map((o) => [o.value, o.abnormal])).toEqual([
      [310, ""],
      [80, ""],
      [33.3, ">"],
      [1.11, "<"],
    ]);
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
