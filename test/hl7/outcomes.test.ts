import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { until } from "../support/wait.js";
import { NHS, useHl7Harness } from "./harness.js";

const t = useHl7Harness();

describe("HL7 outcomes over HTTPS", () => {
  it("AR keeps PKB's text as a dead letter, re-sent by hand and rebuilt after a fix; AE likewise", async () => {
    const { h } = t;
    await h.buffer.ingest([h.reading()]);
    h.start(h.config({ snomed: { "bp-systolic": { code: "999999", unit: "mm[Hg]" } } }));
    await until(() => h.stats().deadLetters === 1);
    expect(h.buffer.outbox.deadLetters()[0]?.reason).toBe(
      "AR: Unknown measurement: SNOMED 999999 with unit mm[Hg]",
    );
    expect(h.column("attempts")).toEqual([1]); // no automatic retry
    // Fixed by hand (the partner's SNOMED table corrected): the dead letter is re-sent, rebuilt.
    await h.restart();
    expect(h.buffer.outbox.retryDead({ route: "hl7" })).toBe(1);
    await until(() => h.stats().byState.delivered === 1);
    const [, , rejected, accepted] = h.pkb.registry.received;
    expect(accepted?.controlId).not.toBe(rejected?.controlId);
    h.pkb.injectFaults({ kind: "ack", code: "AE", text: "Unexpected error" });
    await h.buffer.ingest([h.reading()]);
    await until(() => h.stats().deadLetters === 1 && h.stats().byState.pending === 0);
    expect(h.buffer.outbox.deadLetters()[0]?.reason).toBe("AE: Unexpected error");
  });

  it("the stand-in answers a malformed message with AE", async () => {
    const { h } = t;
    const answer = h.pkb.registry.handle("this is not HL7");
    expect(answer).toMatch(/\rMSA\|AE\|/);
  });

  it("A28 refused: the readings wait as dead letters and the next batch asks again", async () => {
    const { h } = t;
    h.pkb.injectFaults({ kind: "none" }, { kind: "ack", code: "AR", text: "Demographics refused" });
    await h.buffer.ingest([h.reading()]);
    h.start();
    await until(() => h.stats().deadLetters === 1);
    expect(h.buffer.outbox.deadLetters()[0]?.reason).toBe(
      "patient record creation (A28) refused: AR: Demographics refused",
    );
    await h.buffer.ingest([h.reading()]);
    await until(() => h.stats().byState.delivered === 1);
    expect(h.types()).toEqual(["QRY^A19", "ADT^A28", "QRY^A19", "ORU^R01"]);
  });

  it("SOAP Server fault and HTTP 5xx (onAmbiguous: resend): retried with backoff, the identical message, counted ambiguous", async () => {
    const { h } = t;
    h.knownToHub();
    h.pkb.injectFaults({ kind: "soap-fault" }, { kind: "status", status: 502 });
    await h.buffer.ingest([h.reading()]);
    h.start(h.config({ onAmbiguous: "resend" }));
    for (const attempts of [1, 2]) {
      await until(() => h.column("attempts")[0] === attempts && h.stats().byState.leased === 0);
      expect(h.column("last_error")[0]).toBe(
        attempts === 1 ? "SOAP fault (Server): Internal processing error" : "HTTP 502",
      );
      h.clock.advance(600_000);
    }
    await until(() => h.stats().byState.delivered === 1);
    const texts = new Set(h.captures().map((c) => c.text));
    expect(h.captures()).toHaveLength(3);
    expect(texts.size).toBe(1);
    expect(h.stats().ambiguousDeliveries).toBe(1);
  });

  it("SOAP Client fault: the request itself is wrong, so it is a dead letter", async () => {
    const { h } = t;
    h.knownToHub();
    h.pkb.injectFaults({ kind: "soap-fault", code: "Client" });
    await h.buffer.ingest([h.reading()]);
    h.start();
    await until(() => h.stats().deadLetters === 1);
    expect(h.buffer.outbox.deadLetters()[0]?.reason).toBe("SOAP fault (Client): Internal processing error");
  });

  it("503 with Retry-After waits as told without spending an attempt", async () => {
    const { h } = t;
    h.knownToHub();
    h.pkb.injectFaults({ kind: "status", status: 503, retryAfter: 120 });
    await h.buffer.ingest([h.reading()]);
    const sentAt = h.clock.nowMs();
    h.start();
    await until(
      () => String(h.column("last_error")[0]).startsWith("HTTP 503") && h.stats().byState.leased === 0,
    );
    expect(h.column("attempts")).toEqual([0]);
    expect(h.column("available_ms")[0]).toBe(sentAt + 120_000);
    h.clock.advance(120_000);
    await until(() => h.stats().byState.delivered === 1);
  });

  it("a 400-digit Retry-After waits the capped hour (no Infinity, no crash, no attempt spent)", async () => {
    const { h } = t;
    h.knownToHub();
    h.pkb.injectFaults({ kind: "status", status: 503, retryAfter: "9".repeat(400) });
    await h.buffer.ingest([h.reading()]);
    const sentAt = h.clock.nowMs();
    h.start();
    await until(
      () => String(h.column("last_error")[0]).startsWith("HTTP 503") && h.stats().byState.leased === 0,
    );
    expect(h.column("attempts")).toEqual([0]);
    expect(h.column("available_ms")[0]).toBe(sentAt + 3_600_000);
    h.clock.advance(3_600_000);
    await until(() => h.stats().byState.delivered === 1);
    // The 503, then (a 5xx may have been processed) the retraction and the delivery: nothing in between.
    expect(h.pkb.requests()).toBe(3);
    expect(h.pkb.registry.reports.retractions).toBe(1);
  });

  it("401: readings are held with an alert (no attempt spent, nothing dead); a fixed password delivers them", async () => {
    const { h } = t;
    writeFileSync(join(h.tmp.dir, "wrong"), "nope\n", { mode: 0o600 });
    await h.buffer.ingest(h.readings(2));
    h.start(h.config({ passwordFile: join(h.tmp.dir, "wrong") }));
    await until(() => h.buffer.alerts.has("HL7_AUTH_FAILED") && h.stats().byState.leased === 0);
    expect(h.column("attempts")).toEqual([0, 0]);
    expect(h.column("ambiguous")).toEqual([0, 0]);
    expect(h.stats().deadLetters).toBe(0);
    expect(h.pkb.registry.received).toHaveLength(0);
    await h.restart(); // the technician fixed the password file
    h.clock.advance(600_000);
    await until(() => h.stats().byState.delivered === 2);
    expect(h.buffer.alerts.has("HL7_AUTH_FAILED")).toBe(false);
  });

  it("404: the endpoint URL is wrong; readings are held with an alert", async () => {
    const { h } = t;
    h.pkb.injectFaults({ kind: "status", status: 404 });
    await h.buffer.ingest([h.reading()]);
    h.start();
    await until(() => h.buffer.alerts.has("HL7_ENDPOINT_NOT_FOUND") && h.stats().byState.leased === 0);
    expect(h.column("attempts")).toEqual([0]);
    expect(h.stats().deadLetters).toBe(0);
  });

  it("timeout after send (onAmbiguous: resend): the identical message (same MSH-10 and OBR-3.1) is re-sent and counted ambiguous", async () => {
    const { h } = t;
    h.knownToHub();
    h.pkb.injectFaults({ kind: "accept-then-hang" });
    await h.buffer.ingest(h.readings(2));
    h.start(h.config({ onAmbiguous: "resend" }));
    await until(() => h.pkb.registry.received.length === 1 && h.stats().byState.leased === 0);
    expect(h.column("ambiguous")).toEqual([1, 1]);
    h.clock.advance(600_000);
    await until(() => h.stats().byState.delivered === 2);
    const [first, second] = h.pkb.registry.received;
    expect(second?.controlId).toBe(first?.controlId);
    expect(h.pkb.registry.duplicateReports).toBe(1); // same report id: PKB can tell it is a re-send
    expect(h.pkb.registry.liveCopies(h.pkb.registry.liveOrus()[0]?.reportId ?? "")).toBe(2); // at least once
    expect(h.stats().ambiguousDeliveries).toBe(2);
  });

  it("a slow PKB (answer later than the deadline) is an ambiguous outcome too: retracted, then re-sent, one live copy", async () => {
    const { h } = t;
    h.knownToHub();
    h.pkb.setLatencyMs(600); // requestTimeoutMs is 400: PKB stores it after the hub gave up
    await h.buffer.ingest([h.reading()]);
    h.start();
    await until(() => h.column("ambiguous")[0] === 1 && h.stats().byState.leased === 0);
    h.pkb.setLatencyMs(0);
    // The fake clock jumps: the settle delay (real seconds on a hub) is made to have passed here.
    await until(() => h.pkb.registry.received.length === 1);
    h.clock.advance(600_000);
    await until(() => h.stats().byState.delivered === 1);
    await until(() => h.pkb.registry.received.length === 3);
    expect(h.pkb.registry.duplicateControlIds).toBe(1); // the original, re-sent after its retraction
    expect(h.pkb.registry.liveOrus()).toHaveLength(1);
    expect(h.stats().ambiguousDeliveries).toBe(1);
  });

  it("an invalid NHS number is never sent: a dead letter that names the patient key, not the number", async () => {
    const { h } = t;
    const cfg = h.config();
    const bad = "9434765918";
    h.start(
      cfg,
      cfg.patients.map((p) => ({ ...p, nhsNumber: bad })),
    );
    await h.buffer.ingest([h.reading()]);
    h.forwarder?.poke();
    await until(() => h.stats().deadLetters === 1);
    const reason = h.buffer.outbox.deadLetters()[0]?.reason ?? "";
    expect(reason).toBe("patient hl7-a: NHS number fails the Modulus 11 check, nothing sent");
    expect(reason).not.toContain(bad);
    expect(h.pkb.requests()).toBe(0);
    expect(NHS).not.toBe(bad);
  });
});
