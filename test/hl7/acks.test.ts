import { describe, expect, it } from "vitest";
import { AMBIGUOUS_ALERT } from "../../src/buffer/outbox.js";
import { HARMLESS_ACK_VARIANTS, UNREADABLE_ACK_VARIANTS } from "../standin/hl7/ack-variants.js";
import { until } from "../support/wait.js";
import { useHl7Harness } from "./harness.js";

const t = useHl7Harness();

describe("HL7 acknowledgements the hub must read", () => {
  it("harmless variants of AA (case, whitespace, the ACK's own delimiters, LF/CRLF, escaped XML) deliver each ORU once", async () => {
    const { h } = t;
    h.knownToHub();
    h.start();
    for (const [i, variant] of HARMLESS_ACK_VARIANTS.entries()) {
      h.pkb.injectFaults({ kind: "ack-variant", variant });
      await h.buffer.ingest([h.reading()]);
      h.forwarder?.poke();
      await until(() => h.stats().byState.delivered === i + 1);
    }
    expect(h.types()).toEqual(HARMLESS_ACK_VARIANTS.map(() => "ORU^R01"));
    expect(h.column("ambiguous")).toEqual(HARMLESS_ACK_VARIANTS.map(() => 0));
  });

  it("after a 2xx, an unreadable answer (no MSA, no MSH, another or empty MSA-2, unknown code, HTML, empty body, a SOAP fault) holds the ORU as ambiguous with an alert, never re-sent (onAmbiguous: hold)", async () => {
    const { h } = t;
    h.knownToHub();
    // A generous deadline: on a loaded machine a timeout (held too, under hold) would take a variant's place.
    h.start(h.config({ onAmbiguous: "hold", requestTimeoutMs: 5_000 }));
    for (const [i, variant] of UNREADABLE_ACK_VARIANTS.entries()) {
      h.pkb.injectFaults({ kind: "ack-variant", variant });
      await h.buffer.ingest([h.reading()]);
      h.forwarder?.poke();
      await until(() => h.stats().byState.ambiguous === i + 1);
    }
    expect(h.buffer.alerts.has(AMBIGUOUS_ALERT)).toBe(true);
    const reasons = h.buffer.db.prepare("SELECT reason FROM outbox ORDER BY id").pluck().all();
    expect(reasons).toEqual([
      "PKB answered, but not readably (answer has no valid MSA-1): it may have stored the message",
      "PKB answered, but not readably (answer carried no HL7 acknowledgement): it may have stored the message",
      "PKB answered, but not readably (ACK answers another message (MSA-2)): it may have stored the message",
      "PKB answered, but not readably (ACK without MSA-2): it may have stored the message",
      "PKB answered, but not readably (answer has no valid MSA-1): it may have stored the message",
      "PKB answered, but not readably (answer carried no HL7 acknowledgement): it may have stored the message",
      "PKB answered, but not readably (answer carried no HL7 acknowledgement): it may have stored the message",
      "PKB answered, but not readably (SOAP fault in an HTTP 200 answer): it may have stored the message",
    ]);
    // Days pass and the loop keeps running: PKB still holds exactly one copy of each.
    for (let day = 0; day < 3; day++) {
      h.clock.advance(24 * 3_600_000);
      h.forwarder?.poke();
      await new Promise((r) => setTimeout(r, 30));
    }
    expect(h.types()).toEqual(UNREADABLE_ACK_VARIANTS.map(() => "ORU^R01"));
    expect(h.pkb.registry.duplicateControlIds).toBe(0);
    expect(h.stats().byState.ambiguous).toBe(UNREADABLE_ACK_VARIANTS.length);
  });

  it("later readings of the patient still go after an ambiguous ORU, each once (onAmbiguous: hold)", async () => {
    const { h } = t;
    h.knownToHub();
    h.pkb.injectFaults({ kind: "ack-variant", variant: "html-page" });
    await h.buffer.ingest([h.reading()]);
    h.start(h.config({ onAmbiguous: "hold" }));
    await until(() => h.stats().byState.ambiguous === 1);
    await h.buffer.ingest([h.reading()]);
    h.forwarder?.poke();
    await until(() => h.stats().byState.delivered === 1);
    expect(h.column("state")).toEqual(["ambiguous", "delivered"]);
    expect(h.types()).toEqual(["ORU^R01", "ORU^R01"]);
  });

  it("an unreadable answer to a query is asked again (a query stores nothing); the reading is not ambiguous", async () => {
    const { h } = t;
    h.knownToPkb();
    h.pkb.injectFaults({ kind: "ack-variant", variant: "no-msa" });
    await h.buffer.ingest([h.reading()]);
    h.start();
    await until(() => h.types().length === 1 && h.stats().byState.leased === 0);
    expect(h.column("ambiguous")).toEqual([0]);
    h.clock.advance(600_000);
    await until(() => h.stats().byState.delivered === 1);
    expect(h.types()).toEqual(["QRY^A19", "QRY^A19", "ORU^R01"]);
  });

  it("an unreadable answer to an A28: asked again with A19 before anything else, never a second A28", async () => {
    const { h } = t;
    h.pkb.injectFaults({ kind: "none" }, { kind: "ack-variant", variant: "empty-body" });
    await h.buffer.ingest([h.reading()]);
    h.start();
    await until(() => h.types().length === 2 && h.stats().byState.leased === 0);
    h.clock.advance(600_000);
    await until(() => h.stats().byState.delivered === 1);
    expect(h.types()).toEqual(["QRY^A19", "ADT^A28", "QRY^A19", "ORU^R01"]);
  });

  it("an unreadable answer to a document is re-sent: TXA-12 makes PKB replace it, not add another", async () => {
    const { h } = t;
    h.knownToHub();
    h.pkb.injectFaults({ kind: "ack-variant", variant: "html-page" });
    h.buffer.enqueueDocument(
      { key: "doc-1", patient: h.patientKey, kind: "summary", title: "S", pdfBase64: "JVBERi0xLjQ=" },
      "hl7",
    );
    h.start();
    await until(() => h.types().length === 1 && h.stats().byState.leased === 0);
    expect(h.column("ambiguous")).toEqual([1]);
    h.clock.advance(600_000);
    await until(() => h.stats().byState.delivered === 1);
    expect(h.types()).toEqual(["MDM^T02", "MDM^T02"]);
    expect([...h.pkb.registry.documents.keys()]).toEqual(["doc-1"]);
  });
});
