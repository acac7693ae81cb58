import { describe, expect, it } from "vitest";
import { QUERY_ID_LENGTH, queryId, REPORT_ID_LENGTH, reportId } from "../../src/forward/hl7/ids.js";
import { IndependentHl7 } from "../../src/forward/hl7/standard.js";
import { until } from "../support/wait.js";
import { useHl7Harness } from "./harness.js";

const t = useHl7Harness();

describe("HL7 report and query ids", () => {
  it("a 64-character patient key: every ORU has its own report id, within OBR-3's 22 characters", async () => {
    const { h } = t;
    h.patientKey = `p${"x".repeat(63)}`;
    h.knownToHub();
    h.start();
    for (let n = 1; n <= 3; n++) {
      await h.buffer.ingest([h.reading()]);
      h.forwarder?.poke();
      await until(() => h.stats().byState.delivered === n);
    }
    const ids = h.captures().map((c) => new IndependentHl7(c.text).get("OBR.3"));
    expect(new Set(ids).size).toBe(3);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(h.pkb.registry.duplicateReports).toBe(0);
  });

  it("report ids are digests of every input, never a cut: keys that share a 60-character prefix differ", () => {
    const long = "k".repeat(60);
    const a = reportId("hub", `${long}-a`, "reading");
    const b = reportId("hub", `${long}-b`, "reading");
    expect(a).not.toBe(b);
    expect(a).toHaveLength(REPORT_ID_LENGTH);
    expect(reportId("hub", "p", "r1")).not.toBe(reportId("hub", "p", "r2"));
    expect(reportId("hub1", "p", "r")).not.toBe(reportId("hub2", "p", "r"));
    // Length-delimited: moving a character from one part to the next gives another id.
    expect(reportId("hub", "ab", "c")).not.toBe(reportId("hub", "a", "bc"));
    expect(reportId("hub", "p", "r")).toBe(reportId("hub", "p", "r"));
    expect(reportId("h", "p", "r")).toBe("PKG_T9rOGPUN7Hpt4kP5hc");
  });

  it("QRD-4 counts queries in base 36 within 10 characters, so no two queries share one", async () => {
    expect([1, 35, 36, 1295].map(queryId)).toEqual(["1", "Z", "10", "ZZ"]);
    expect(queryId(36 ** 10 - 1)).toBe("ZZZZZZZZZZ");
    expect(QUERY_ID_LENGTH).toBe(10);
    expect(() => queryId(36 ** 10)).toThrow(RangeError);
    expect(() => queryId(0)).toThrow(RangeError);
    expect(() => queryId(1.5)).toThrow(RangeError);
    const { h } = t;
    h.knownToPkb();
    h.pkb.injectFaults({ kind: "status", status: 502 }); // the first query gets no answer
    await h.buffer.ingest([h.reading()]);
    h.start();
    await until(() => h.column("last_error")[0] === "HTTP 502" && h.stats().byState.leased === 0);
    h.clock.advance(600_000);
    await until(() => h.stats().byState.delivered === 1);
    const qrd4 = h
      .captures()
      .filter((c) => c.name.endsWith("QRY-A19.hl7"))
      .map((c) => new IndependentHl7(c.text).get("QRD.4"));
    expect(qrd4).toEqual(["1", "2"]);
  });

  it("an A19 answer that echoes another query's QRD-4 is not believed: asked again, nothing created", async () => {
    const { h } = t;
    h.pkb.injectFaults({
      kind: "rewrite",
      edit: (a) => a.replace(/\rQRD\|([^|]*)\|R\|I\|1/, "\rQRD|$1|R|I|7"),
    });
    await h.buffer.ingest([h.reading()]);
    h.start();
    await until(
      () =>
        h.column("last_error")[0] === "A19 answer echoes another query (QRD-4)" &&
        h.stats().byState.leased === 0,
    );
    expect(h.types()).toEqual(["QRY^A19"]);
    expect(h.column("ambiguous")).toEqual([0]);
    h.clock.advance(600_000);
    await until(() => h.stats().byState.delivered === 1);
    expect(h.types()).toEqual(["QRY^A19", "QRY^A19", "ADT^A28", "ORU^R01"]);
  });
});
