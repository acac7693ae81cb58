import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  checkedBase64,
  DEFAULT_MAX_DOCUMENT_BYTES,
  enqueueHl7Document,
  prepareHl7Document,
} from "../../src/forward/hl7/document.js";
import { buildMdmT02 } from "../../src/forward/hl7/messages.js";
import { makeBuffer } from "../support/buffer.js";
import { until } from "../support/wait.js";
import { useHl7Harness } from "./harness.js";

const t = useHl7Harness();

const pdf = (bytes: number) => {
  const b = Buffer.alloc(bytes, 0x41);
  b.write("%PDF-1.4\n");
  return b;
};
const doc = (key: string, content: Buffer) => ({
  key,
  patient: "hl7-a",
  kind: "summary",
  title: "Session summary",
  pdf: content,
  createdMs: Date.UTC(2026, 0, 1),
});

describe("HL7 documents", () => {
  it("an empty document, or one that is not a PDF, is refused at enqueue and nothing is stored", () => {
    const { h } = t;
    expect(() => enqueueHl7Document(h.buffer, doc("doc-empty", Buffer.alloc(0)), 1024)).toThrow(
      expect.objectContaining({ code: "DOCUMENT_INVALID", message: "document doc-empty is empty" }),
    );
    expect(() => enqueueHl7Document(h.buffer, doc("doc-html", Buffer.from("<html>")), 1024)).toThrow(
      expect.objectContaining({
        code: "DOCUMENT_INVALID",
        message: "document doc-html is not a PDF (no %PDF- header)",
      }),
    );
    expect(h.buffer.db.prepare("SELECT count(*) FROM documents").pluck().get()).toBe(0);
  });

  it("a document over routes.hl7.maxDocumentBytes is refused at enqueue with the size and the limit", () => {
    const { h } = t;
    expect(h.config().routes.hl7?.maxDocumentBytes).toBe(DEFAULT_MAX_DOCUMENT_BYTES);
    const limit = h.config({ maxDocumentBytes: 4096 }).routes.hl7?.maxDocumentBytes ?? 0;
    expect(() => enqueueHl7Document(h.buffer, doc("doc-big", pdf(4097)), limit)).toThrow(
      expect.objectContaining({
        code: "DOCUMENT_TOO_LARGE",
        message: "document doc-big is 4097 bytes; routes.hl7.maxDocumentBytes allows 4096",
      }),
    );
    expect(enqueueHl7Document(h.buffer, doc("doc-fits", pdf(4096)), limit)).toBe(true);
    expect(() => h.config({ maxDocumentBytes: 0 })).toThrow(
      expect.objectContaining({ code: "CONFIG_INVALID" }),
    );
  });

  it("a stored document that is empty or over today's limit becomes a dead letter saying why, never an empty ED", async () => {
    const { h } = t;
    h.knownToHub();
    const stored = prepareHl7Document(doc("doc-large", pdf(2048)), DEFAULT_MAX_DOCUMENT_BYTES);
    h.buffer.enqueueDocument({ key: "doc-empty", patient: "hl7-a", kind: "summary", pdfBase64: "" }, "hl7");
    h.buffer.enqueueDocument(stored, "hl7");
    h.start(h.config({ maxDocumentBytes: 1024 }));
    await until(() => h.stats().deadLetters === 2);
    expect(h.buffer.outbox.deadLetters().map((d) => d.reason)).toEqual([
      "message cannot be built: DOCUMENT_INVALID: document doc-empty is empty",
      "message cannot be built: DOCUMENT_TOO_LARGE: document doc-large is 2048 bytes; routes.hl7.maxDocumentBytes allows 1024",
    ]);
    expect(h.pkb.requests()).toBe(0);
  });

  it("a PDF arrives byte for byte: base64 goes unescaped and PKB decodes the same size", async () => {
    const { h } = t;
    h.knownToHub();
    const content = pdf(200_000);
    enqueueHl7Document(h.buffer, doc("doc-1", content), DEFAULT_MAX_DOCUMENT_BYTES);
    h.start();
    await until(() => h.stats().byState.delivered === 1);
    expect(h.pkb.registry.documents.get("doc-1")?.bytes).toBe(200_000);
    expect(h.captures()[0]?.text).toContain(`^TEXT^PDF^Base64^${content.toString("base64")}|`);
  });

  it("a 30 MiB PDF is prepared and built in linear time and bounded memory (base64 is not escaped character by character)", () => {
    const content = pdf(30 * 1024 * 1024);
    const peakBefore = process.resourceUsage().maxRSS * 1024;
    const started = performance.now();
    // What enqueuing does (checks, base64), then what sending does (the MDM^T02).
    const stored = prepareHl7Document(doc("d", content), 32 * 1024 * 1024);
    const text = buildMdmT02(
      { sendingApplication: "PKBHUB", sendingFacility: "DEMOALIAS", processingId: "P", timeZone: "UTC" },
      { nhsNumber: "9434765919", firstName: "Ann", lastName: "Example", dob: "1950-01-31", sex: "F" },
      {
        documentNumber: "d",
        typeCode: "DS",
        title: "t",
        fileName: "f.pdf",
        pdfBase64: checkedBase64("d", stored.pdfBase64, 32 * 1024 * 1024),
        createdMs: 0,
      },
      "c1",
      0,
    );
    const ms = performance.now() - started;
    const peakGrowth = process.resourceUsage().maxRSS * 1024 - peakBefore;
    expect(text.length).toBeGreaterThan(stored.pdfBase64.length);
    expect(text.length).toBeLessThan(stored.pdfBase64.length + 500);
    // Before: 35 s and 1.5 GB on this machine; now about a second and a few copies of 40 MB of text.
    // Generous bounds (a loaded 2-core machine), still far below the defect's.
    expect(ms).toBeLessThan(20_000);
    expect(peakGrowth).toBeLessThan(600 * 1024 * 1024);
  }, 60_000);

  it("HubBuffer.enqueueDocument checks its own input: no key, patient or kind, or a body over its cap, is refused and nothing stored", () => {
    const { h } = t;
    const good = prepareHl7Document(doc("doc-ok", pdf(64)), DEFAULT_MAX_DOCUMENT_BYTES);
    const bad: Array<[unknown, string]> = [
      [{ ...good, key: "" }, "DOCUMENT_INVALID"],
      [{ ...good, patient: 7 }, "DOCUMENT_INVALID"],
      [{ ...good, kind: undefined }, "DOCUMENT_INVALID"],
      [null, "DOCUMENT_INVALID"],
      [{ ...good, extra: 1n }, "DOCUMENT_INVALID"],
    ];
    for (const [input, code] of bad)
      expect(() => h.buffer.enqueueDocument(input as typeof good, "hl7"), String(input)).toThrow(
        expect.objectContaining({ code }),
      );
    expect(() => h.buffer.enqueueDocument(good, "")).toThrow(
      expect.objectContaining({ code: "DOCUMENT_INVALID" }),
    );
    // Over the buffer's own cap, whatever prepared it (a caller that skipped the route's check).
    const { buffer: small } = makeBuffer(join(h.tmp.dir, "small"), { maxDocumentBodyBytes: 1024 });
    try {
      const big = prepareHl7Document(doc("doc-big", pdf(4096)), DEFAULT_MAX_DOCUMENT_BYTES);
      expect(() => small.enqueueDocument(big, "hl7")).toThrow(
        expect.objectContaining({
          code: "DOCUMENT_TOO_LARGE",
          message: expect.stringContaining("at most 1024"),
        }),
      );
      expect(small.stats().unsent).toBe(0);
      expect(small.enqueueDocument(good, "hl7")).toBe(true);
    } finally {
      small.close();
    }
    expect(h.stats().unsent).toBe(0);
  });

  it("checkedBase64 refuses what is not canonical base64", () => {
    expect(checkedBase64("d", "JVBERi0=", 10)).toBe("JVBERi0=");
    for (const bad of ["JVBERi0", "JVB ERi0=", "JVBE|i0=", "====", "JV=BERi0"])
      expect(() => checkedBase64("d", bad, 100), bad).toThrow(
        expect.objectContaining({ code: "DOCUMENT_INVALID", message: "document d is not valid base64" }),
      );
    expect(() => checkedBase64("d", 42, 100)).toThrow(expect.objectContaining({ code: "DOCUMENT_INVALID" }));
    expect(() => checkedBase64("d", "JVBERi0=", 4)).toThrow(
      expect.objectContaining({ message: "document d is 5 bytes; routes.hl7.maxDocumentBytes allows 4" }),
    );
  });
});
