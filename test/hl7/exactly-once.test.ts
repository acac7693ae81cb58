import { describe, expect, it } from "vitest";
import { AMBIGUOUS_ALERT } from "../../src/buffer/outbox.js";
import { patientStateKey } from "../../src/forward/hl7/patients.js";
import { IndependentHl7 } from "../../src/forward/hl7/standard.js";
import { BOB } from "../support/pkb-patients.js";
import { until } from "../support/wait.js";
import { type Hl7Harness, NHS, useHl7Harness } from "./harness.js";

const t = useHl7Harness();

/** OBR-3.1, OBR-25, PID-3.1 and the number of OBX of a captured message. */
function shape(text: string) {
  const m = new IndependentHl7(text);
  return {
    controlId: m.get("MSH.10"),
    report: m.get("OBR.3.1") || m.get("OBR.3"),
    status: m.get("OBR.25"),
    nhs: m.get("PID.3.1"),
    obx: m.segments("OBX").length,
  };
}

/** Lets the loop run a few passes at the current (fake) time. */
async function passes(h: Hl7Harness, n = 3): Promise<void> {
  for (let i = 0; i < n; i++) {
    h.forwarder?.poke();
    await new Promise((r) => setTimeout(r, 30));
  }
}

const idle = (h: Hl7Harness) => h.stats().byState.leased === 0;

/** Long enough that a loaded machine does not turn a normal answer into a timeout (an extra retraction). */
const DEADLINE_MS = 1_500;

describe("HL7 exactly once: retraction before re-sending an ambiguous ORU (onAmbiguous: retract)", () => {
  it("answer lost after PKB stored the ORU: after retractAfterSec its report is retracted, then the identical ORU re-sent; PKB holds exactly one live copy", async () => {
    const { h } = t;
    h.knownToHub();
    h.pkb.injectFaults({ kind: "accept-then-hang" });
    await h.buffer.ingest(h.readings(2));
    h.start(h.config({ requestTimeoutMs: DEADLINE_MS, retractAfterSec: 1 }));
    await until(() => h.pkb.registry.received.length === 1 && idle(h));
    expect(h.column("state")).toEqual(["pending", "pending"]);
    expect(h.column("ambiguous")).toEqual([1, 1]);
    // Before the settle delay is over, nothing goes (a late first copy could land after a retraction).
    h.clock.advance(999);
    await passes(h);
    expect(h.pkb.requests()).toBe(1);
    expect(String(h.column("last_error")[0])).toMatch(/^waiting 1 s for a copy still on its way/);
    h.clock.advance(1);
    await until(() => h.stats().byState.delivered === 2);
    const [first, retraction, again] = h.captures().map((c) => c.text);
    expect(again).toBe(first); // the stored original, byte for byte
    const o = shape(first ?? "");
    expect(shape(retraction ?? "")).toEqual({ ...o, controlId: expect.any(String), status: "R", obx: 0 });
    expect(shape(retraction ?? "").controlId).not.toBe(o.controlId);
    expect(h.pkb.registry.liveCopies(o.report)).toBe(1);
    expect(h.pkb.registry.liveOrus()).toHaveLength(1);
    expect(h.pkb.registry.observationsFor(NHS)).toHaveLength(4);
    expect(h.pkb.registry.reports.retractions).toBe(1);
    expect(h.buffer.db.prepare("SELECT count(*) FROM hl7_retractions").pluck().get()).toBe(0);
  });

  it("HTTP 500, a SOAP fault in a 2xx and an HTML page in a 2xx are retracted the same way; one live copy each", async () => {
    const { h } = t;
    h.knownToHub();
    h.start(h.config({ requestTimeoutMs: DEADLINE_MS, retractAfterSec: 0 }));
    const faults = [
      { kind: "status", status: 500 },
      { kind: "ack-variant", variant: "soap-fault" },
      { kind: "ack-variant", variant: "html-page" },
    ] as const;
    for (const [i, fault] of faults.entries()) {
      h.pkb.injectFaults(fault);
      await h.buffer.ingest([h.reading()]);
      h.forwarder?.poke();
      await until(() => h.column("ambiguous")[i] === 1 && idle(h));
      h.clock.advance(60_000); // the backoff
      await until(() => h.stats().byState.delivered === i + 1);
    }
    expect(h.pkb.registry.reports.retractions).toBe(3);
    expect(h.pkb.registry.liveOrus()).toHaveLength(3); // the 500 stored nothing; the two 2xx did
    expect(h.pkb.registry.reports.duplicated().size).toBe(0);
  });

  it("the settle wait holds no other patient's readings back", async () => {
    const { h } = t;
    h.knownToHub();
    h.pkb.registry.patients.set(BOB.nhsNumber, { ...BOB, sex: BOB.gender });
    const cfg = h.config({ requestTimeoutMs: DEADLINE_MS });
    const bob = {
      ...(cfg.patients[0] as (typeof cfg.patients)[number]),
      key: "hl7-b",
      nhsNumber: BOB.nhsNumber,
    };
    h.buffer.kvSet(patientStateKey("DEMOALIAS", BOB.nhsNumber), "known");
    h.pkb.injectFaults({ kind: "accept-then-hang" });
    await h.buffer.ingest([h.reading()]);
    h.start(cfg, [...cfg.patients, bob]); // retractAfterSec: 60 (the default)
    await until(() => h.pkb.registry.received.length === 1 && idle(h));
    h.patientKey = "hl7-b";
    await h.buffer.ingest([h.reading()]);
    h.forwarder?.poke();
    await until(() => h.stats().byState.delivered === 1);
    expect(h.column("state")).toEqual(["pending", "delivered"]);
    expect(h.pkb.registry.reports.retractions).toBe(0);
    h.clock.advance(60_000);
    await until(() => h.stats().byState.delivered === 2);
    expect(
      h.pkb.registry
        .liveOrus()
        .map((c) => c.nhsNumber)
        .sort(),
    ).toEqual([BOB.nhsNumber, NHS].sort());
  });

  it("a retraction that is itself ambiguous (answer lost, then unreadable) is re-sent byte for byte; only its AA lets the original go", async () => {
    const { h } = t;
    h.knownToHub();
    h.pkb.injectFaults(
      { kind: "accept-then-hang" },
      { kind: "accept-then-hang" },
      { kind: "ack-variant", variant: "empty-body" },
    );
    await h.buffer.ingest([h.reading()]);
    h.start(h.config({ requestTimeoutMs: DEADLINE_MS, retractAfterSec: 1 }));
    for (const sent of [1, 2, 3]) {
      await until(() => h.pkb.requests() === sent && idle(h));
      h.clock.advance(60_000);
    }
    await until(() => h.stats().byState.delivered === 1);
    const texts = h.captures().map((c) => c.text);
    expect(texts.map((x) => shape(x).status)).toEqual(["", "R", "R", "R", ""]);
    expect(new Set(texts.slice(1, 4)).size).toBe(1); // the stored retraction, identical each time
    expect(texts[4]).toBe(texts[0]);
    expect(h.pkb.registry.liveCopies(shape(texts[0] ?? "").report)).toBe(1);
  });

  it("PKB refuses the retraction (AR, then AE): held for a person with PKB's reason, the original never re-sent; a person's resend sends it", async () => {
    const { h } = t;
    h.knownToHub();
    h.start(h.config({ requestTimeoutMs: DEADLINE_MS, retractAfterSec: 0 }));
    for (const [i, code] of (["AR", "AE"] as const).entries()) {
      h.pkb.injectFaults({ kind: "accept-then-hang" }, { kind: "ack", code, text: "Report not found" });
      await h.buffer.ingest([h.reading()]);
      h.forwarder?.poke();
      await until(() => h.column("ambiguous")[i] === 1 && idle(h));
      h.clock.advance(60_000);
      await until(() => h.stats().byState.ambiguous === i + 1);
    }
    expect(h.buffer.db.prepare("SELECT reason FROM outbox ORDER BY id").pluck().all()).toEqual(
      ["AR", "AE"].map(
        (code) =>
          `PKB refused the retraction of this report (${code}: Report not found): the original was not re-sent and ` +
          "may be in the record once or not at all; check the record, then outbox resolve",
      ),
    );
    expect(h.buffer.alerts.has(AMBIGUOUS_ALERT)).toBe(true);
    expect(h.stats().deadLetters).toBe(0);
    for (let day = 0; day < 3; day++) {
      h.clock.advance(24 * 3_600_000);
      await passes(h);
    }
    expect(h.pkb.requests()).toBe(4); // two ORUs, two refused retractions: nothing more
    // A person checked the record (the stand-in did delete it) and orders the first one re-sent.
    const [first] = h.captures().map((c) => c.text);
    h.buffer.outbox.resolveAmbiguous(1, "resend");
    await until(() => h.stats().byState.delivered === 1);
    const last = h.captures().at(-1)?.text;
    expect(last).toBe(first);
    expect(h.pkb.registry.liveCopies(shape(first ?? "").report)).toBe(1);
    expect(h.pkb.registry.reports.retractions).toBe(2);
  });

  it("agent restarted while the retraction was unanswered: after the settle delay the same retraction, then the original; one live copy", async () => {
    const { h } = t;
    h.knownToHub();
    h.pkb.injectFaults({ kind: "accept-then-hang" }, { kind: "hang" });
    await h.buffer.ingest([h.reading()]);
    // Long enough that the agent stops (cutting the request) before the hub gives up on it.
    const cfg = h.config({ retractAfterSec: 1, requestTimeoutMs: 2_000 });
    h.start(cfg);
    await until(() => h.pkb.requests() === 1);
    await h.reopen(cfg); // the ORU is cut off unanswered
    h.clock.advance(1_000);
    await until(() => h.pkb.requests() === 2); // the retraction is on its way
    await h.reopen(cfg); // cut off unanswered too
    await passes(h);
    expect(h.pkb.requests()).toBe(2); // the cut retraction may still land: wait first
    expect(h.buffer.db.prepare("SELECT state FROM hl7_retractions").pluck().all()).toEqual(["pending"]);
    h.clock.advance(60_000);
    await until(() => h.stats().byState.delivered === 1);
    const texts = h.captures().map((c) => c.text);
    expect(texts.map((x) => shape(x).status)).toEqual(["", "R", "R", ""]);
    expect(texts[2]).toBe(texts[1]);
    expect(texts[3]).toBe(texts[0]);
    expect(h.pkb.registry.liveCopies(shape(texts[0] ?? "").report)).toBe(1);
  });

  it("agent restarted between the acknowledged retraction and the re-send: the state is in SQLite, the original goes without a second retraction; one live copy", async () => {
    const { h } = t;
    h.knownToHub();
    // The re-send after the AA is refused for now (429: certainly not processed).
    h.pkb.injectFaults({ kind: "accept-then-hang" }, { kind: "none" }, { kind: "status", status: 429 });
    await h.buffer.ingest([h.reading()]);
    const cfg = h.config({ requestTimeoutMs: DEADLINE_MS, retractAfterSec: 0 });
    h.start(cfg);
    await until(() => h.pkb.requests() === 1 && idle(h));
    h.clock.advance(60_000);
    await until(() => h.pkb.requests() === 3 && idle(h));
    expect(h.buffer.db.prepare("SELECT state FROM hl7_retractions").pluck().all()).toEqual(["acked"]);
    expect(h.pkb.registry.liveOrus()).toHaveLength(0); // retracted, not yet re-sent
    await h.reopen(cfg);
    h.clock.advance(60_000);
    await until(() => h.stats().byState.delivered === 1);
    expect(h.captures().map((c) => shape(c.text).status)).toEqual(["", "R", "", ""]);
    expect(h.pkb.registry.reports.retractions).toBe(1);
    expect(h.pkb.registry.liveOrus()).toHaveLength(1);
  });

  it("agent restarted while the re-sent original was unanswered: retracted afresh (new MSH-10), then re-sent; one live copy", async () => {
    const { h } = t;
    h.knownToHub();
    h.pkb.injectFaults({ kind: "accept-then-hang" }, { kind: "none" }, { kind: "accept-then-hang" });
    await h.buffer.ingest([h.reading()]);
    const cfg = h.config({ retractAfterSec: 0, requestTimeoutMs: 2_000 });
    h.start(cfg);
    await until(() => h.pkb.requests() === 1);
    await h.reopen(cfg);
    h.clock.advance(60_000);
    await until(() => h.pkb.requests() === 3); // retraction, then the original again (stored by PKB, unanswered)
    await until(() => h.pkb.registry.liveOrus().length === 1);
    await h.reopen(cfg);
    h.clock.advance(60_000);
    await until(() => h.stats().byState.delivered === 1);
    const texts = h.captures().map((c) => c.text);
    expect(texts.map((x) => shape(x).status)).toEqual(["", "R", "", "R", ""]);
    expect(shape(texts[3] ?? "").controlId).not.toBe(shape(texts[1] ?? "").controlId);
    expect(new Set([texts[0], texts[2], texts[4]]).size).toBe(1);
    expect(h.pkb.registry.liveCopies(shape(texts[0] ?? "").report)).toBe(1);
    expect(h.pkb.registry.duplicateReports).toBe(2); // PKB received it three times, and holds it once
  });
});

describe("HL7 ambiguous ORU under the other policies", () => {
  it("onAmbiguous: hold — a timed-out ORU is held for a person, never retracted or re-sent", async () => {
    const { h } = t;
    h.knownToHub();
    h.pkb.injectFaults({ kind: "accept-then-hang" });
    await h.buffer.ingest([h.reading()]);
    h.start(h.config({ requestTimeoutMs: DEADLINE_MS, onAmbiguous: "hold", retractAfterSec: 0 }));
    await until(() => h.stats().byState.ambiguous === 1);
    expect(h.buffer.outbox.rowsInState("ambiguous")[0]?.reason).toMatch(/: PKB may have stored the message$/);
    h.clock.advance(24 * 3_600_000);
    await passes(h);
    expect(h.pkb.requests()).toBe(1);
    expect(h.pkb.registry.liveOrus()).toHaveLength(1);
  });

  it("onAmbiguous: resend — a timed-out ORU is re-sent as it is, no retraction (at least once: two live copies)", async () => {
    const { h } = t;
    h.knownToHub();
    h.pkb.injectFaults({ kind: "accept-then-hang" });
    await h.buffer.ingest([h.reading()]);
    h.start(h.config({ requestTimeoutMs: DEADLINE_MS, onAmbiguous: "resend" }));
    await until(() => h.pkb.requests() === 1 && idle(h));
    h.clock.advance(60_000);
    await until(() => h.stats().byState.delivered === 1);
    const [a, b] = h.captures().map((c) => c.text);
    expect(b).toBe(a);
    expect(h.pkb.registry.reports.retractions).toBe(0);
    expect(h.pkb.registry.liveCopies(shape(a ?? "").report)).toBe(2);
  });
});
