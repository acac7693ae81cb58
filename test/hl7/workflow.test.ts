import { describe, expect, it } from "vitest";
import { patientStateKey } from "../../src/forward/hl7/patients.js";
import { IndependentHl7 } from "../../src/forward/hl7/standard.js";
import { until } from "../support/wait.js";
import { expectValidHl7 } from "./check.js";
import { NHS, useHl7Harness } from "./harness.js";

const t = useHl7Harness();

describe("HL7 workflow over HTTPS", () => {
  it("unknown patient: A19 → A28 → ORU; later batches go straight to ORU; a backlog is batched", async () => {
    const { h } = t;
    await h.buffer.ingest(h.readings(3));
    h.start();
    await until(() => h.stats().byState.delivered === 3);
    expect(h.types()).toEqual(["QRY^A19", "ADT^A28", "ORU^R01"]);
    expect(h.observations()).toBe(6);
    expect(h.pkb.registry.patients.get(NHS)).toMatchObject({ firstName: "Ann", lastName: "Example" });
    await h.buffer.ingest(h.readings(12)); // 24 observations, at most 10 per message
    await until(() => h.stats().byState.delivered === 15);
    expect(h.types().slice(3)).toEqual(["ORU^R01", "ORU^R01", "ORU^R01"]);
    expect(h.observations()).toBe(30);
    const captures = h.captures();
    expect(captures.map((c) => c.name.slice(5))).toEqual([
      "QRY-A19.hl7",
      "ADT-A28.hl7",
      "ORU-R01.hl7",
      "ORU-R01.hl7",
      "ORU-R01.hl7",
      "ORU-R01.hl7",
    ]);
    for (const c of captures) {
      expectValidHl7(c.text, c.name);
      expect(new IndependentHl7(c.text).segments("OBX").length).toBeLessThanOrEqual(10);
    }
    expect(h.pkb.registry.duplicateControlIds).toBe(0);
    expect(h.pkb.registry.duplicateReports).toBe(0);
  });

  it("the next message is stored while one is in flight, yet sent only after that one went through, and identically", async () => {
    const { h } = t;
    h.knownToHub();
    // Three ORUs (10 observations each); the second is refused once before processing (429: PKB
    // took nothing, so no retraction is due — a 5xx would be ambiguous and retracted first).
    h.pkb.injectFaults({ kind: "none" }, { kind: "status", status: 429, retryAfter: 0 });
    await h.buffer.ingest(h.readings(15));
    h.start();
    await until(() => h.stats().byState.delivered === 15);
    const texts = h.captures().map((c) => c.text);
    expect(texts).toHaveLength(4);
    expect(texts[2]).toBe(texts[1]); // the refused one again, as stored: nothing overtook it
    expect(new Set(texts).size).toBe(3);
    expect(h.pkb.registry.received.map((m) => m.type)).toEqual(["ORU^R01", "ORU^R01", "ORU^R01"]);
    expect(h.pkb.registry.duplicateControlIds).toBe(0);
    expect(h.buffer.db.prepare("SELECT count(*) FROM hl7_messages").pluck().get()).toBe(0);
  });

  it("certificates are verified: an endpoint the hub cannot trust gets nothing", async () => {
    const { h } = t;
    await h.buffer.ingest([h.reading()]);
    h.start(h.config({ caFile: undefined }));
    await until(() => (h.column("attempts")[0] as number) >= 1);
    expect(h.pkb.registry.received).toHaveLength(0);
    expect(h.column("ambiguous")).toEqual([0]);
  });

  it("a patient PKB already knows is never created; the A19 answer is cached", async () => {
    const { h } = t;
    h.knownToPkb();
    await h.buffer.ingest([h.reading()]);
    h.start();
    await until(() => h.stats().byState.delivered === 1);
    await h.restart();
    await h.buffer.ingest([h.reading()]);
    await until(() => h.stats().byState.delivered === 2);
    expect(h.types()).toEqual(["QRY^A19", "ORU^R01", "ORU^R01"]);
  });

  it("on behalf of a customer (alias in MSH-4) and as a no-access partner (own id); an unknown alias is refused", async () => {
    const { h } = t;
    h.knownToPkb();
    await h.buffer.ingest([h.reading()]);
    h.start(h.config({ sendingFacility: "DEMOALIAS" }));
    await until(() => h.stats().byState.delivered === 1);
    await h.restart(h.config({ sendingFacility: "PARTNERORG" }));
    await h.buffer.ingest([h.reading()]);
    await until(() => h.stats().byState.delivered === 2);
    // What PKB knows is asked per organisation: the partner's own id asks again.
    expect(h.types()).toEqual(["QRY^A19", "ORU^R01", "QRY^A19", "ORU^R01"]);
    const facilities = h.captures().map((c) => new IndependentHl7(c.text).get("MSH.4"));
    expect(facilities).toEqual(["DEMOALIAS", "DEMOALIAS", "PARTNERORG", "PARTNERORG"]);
    await h.restart(h.config({ sendingFacility: "NOT-AN-ALIAS" }));
    await h.buffer.ingest([h.reading()]);
    await until(() => h.stats().deadLetters === 1);
    expect(h.buffer.outbox.deadLetters()[0]?.reason).toBe(
      "patient query (A19) refused: AR: Sending facility is not a known organisation or alias",
    );
  });

  it("delimiters in names and titles are escaped on the wire and arrive intact", async () => {
    const { h } = t;
    const firstName = "Ann|Marie";
    const lastName = "O'Brien^Smith & Co~\\";
    await h.buffer.ingest([h.reading()]);
    h.buffer.enqueueDocument(
      {
        key: "doc-esc",
        patient: "hl7-a",
        kind: "summary",
        title: "BP | 2^nd & last ~ ]]> <b>",
        pdfBase64: "JVBERi0xLjQ=",
      },
      "hl7",
    );
    h.start(h.config({}, { firstName, lastName }));
    await until(() => h.stats().byState.delivered === 2);
    expect(h.pkb.registry.patients.get(NHS)).toEqual({
      nhsNumber: NHS,
      firstName,
      lastName,
      dob: "1950-01-31",
      sex: "F",
    });
    expect(h.pkb.registry.documents.get("doc-esc")?.title).toBe("BP | 2^nd & last ~ ]]> <b>");
    for (const c of h.captures()) expectValidHl7(c.text, c.name);
    const a28 = h.captures().find((c) => c.name.endsWith("ADT-A28.hl7"))?.text ?? "";
    expect(a28).toContain("|O'Brien\\S\\Smith \\T\\ Co\\R\\\\E\\^Ann\\F\\Marie|");
  });

  it("documents go as MDM^T02, in order with the readings", async () => {
    const { h } = t;
    h.knownToHub();
    await h.buffer.ingest([h.reading()]);
    h.buffer.enqueueDocument(
      {
        key: "doc-0001",
        patient: "hl7-a",
        kind: "summary",
        title: "Session summary",
        typeCode: "DS",
        fileName: "s.pdf",
        pdfBase64: "JVBERi0xLjQ=",
      },
      "hl7",
    );
    await h.buffer.ingest([h.reading()]);
    h.start();
    await until(() => h.stats().byState.delivered === 3);
    expect(h.types()).toEqual(["ORU^R01", "MDM^T02", "ORU^R01"]);
    expect(h.pkb.registry.documents.get("doc-0001")).toMatchObject({ type: "DS", title: "Session summary" });
  });

  it("restart in the middle of the workflow: no second A28, no duplicate ORU", async () => {
    const { h } = t;
    // The A19 is answered; the A28 is processed by PKB but its answer never reaches the hub.
    h.pkb.injectFaults({ kind: "none" }, { kind: "accept-then-hang" });
    await h.buffer.ingest([h.reading()]);
    h.start();
    await until(
      () =>
        h.types().includes("ADT^A28") && h.stats().byState.leased === 0 && h.stats().byState.pending === 1,
    );
    expect(h.buffer.kvGet(patientStateKey("DEMOALIAS", NHS))).toBe("a28-sent");
    expect(h.column("ambiguous")).toEqual([0]); // the reading itself was not sent
    await h.restart();
    h.clock.advance(600_000);
    await until(() => h.stats().byState.delivered === 1);
    expect(h.types()).toEqual(["QRY^A19", "ADT^A28", "QRY^A19", "ORU^R01"]);
    await h.restart();
    await h.buffer.ingest([h.reading()]);
    await until(() => h.stats().byState.delivered === 2);
    expect(h.types().filter((x) => x === "ADT^A28")).toHaveLength(1);
    expect(h.pkb.registry.duplicateReports).toBe(0);
  });

  it("agent stopped while an ORU is unanswered: after restart its report is retracted and only the identical message is re-sent", async () => {
    const { h } = t;
    h.knownToHub();
    h.pkb.injectFaults({ kind: "accept-then-hang" });
    await h.buffer.ingest(h.readings(2));
    h.start(h.config({ requestTimeoutMs: 10_000 }));
    await until(() => h.pkb.registry.received.length === 1);
    await h.forwarder?.stop(); // aborts the request in flight
    expect(h.column("state")).toEqual(["pending", "pending"]);
    expect(h.column("ambiguous")).toEqual([1, 1]);
    h.clock.advance(600_000);
    h.start();
    await until(() => h.stats().byState.delivered === 2);
    const [first, retraction, second] = h.pkb.registry.received;
    expect(second?.controlId).toBe(first?.controlId);
    expect(retraction?.controlId).not.toBe(first?.controlId);
    const [a, r, b] = h.captures();
    expect(b?.text).toBe(a?.text);
    expect(r?.text).toMatch(/\rOBR\|(?:[^|\r]*\|){24}R(\r|$)/);
    expect(h.pkb.registry.liveOrus()).toHaveLength(1);
    expect(h.stats().ambiguousDeliveries).toBe(2);
  });

  it("a smaller batch limit after a restart: the stored message still goes whole, and only once more", async () => {
    const { h } = t;
    h.knownToHub();
    h.pkb.injectFaults({ kind: "accept-then-hang" });
    await h.buffer.ingest(h.readings(5)); // 10 observations: one ORU
    h.start();
    await until(() => h.pkb.registry.received.length === 1 && h.stats().byState.leased === 0);
    h.clock.advance(600_000);
    await h.restart(h.config({ maxObservationsPerMessage: 4 })); // now 4 rows per claim at most
    await until(() => h.stats().byState.delivered === 5);
    expect(h.pkb.registry.received).toHaveLength(3); // the ORU, its retraction, the ORU again
    expect(h.pkb.registry.duplicateControlIds).toBe(1);
    await h.buffer.ingest(h.readings(3));
    await until(() => h.stats().byState.delivered === 8);
    const obx = h.captures().map((c) => new IndependentHl7(c.text).segments("OBX").length);
    expect(obx).toEqual([10, 0, 10, 4, 2]);
    expect(h.pkb.registry.liveOrus()).toHaveLength(3);
    expect(h.buffer.db.prepare("SELECT count(*) FROM hl7_messages").pluck().get()).toBe(0);
  });
});
