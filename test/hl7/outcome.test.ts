import { describe, expect, it } from "vitest";
import { type Ack, parseAck } from "../../src/forward/hl7/ack.js";
import {
  ackOutcome,
  ackProblem,
  BLOCKED_RECHECK_MS,
  interpret,
  settle,
} from "../../src/forward/hl7/outcome.js";

const hl7 = (msa: string) => `MSH|^~\\&|PKB|PKB|||20260101||ACK^R01|a|P|2.4\r${msa}`;
const soap = (msa: string) => `<r><![CDATA[${hl7(msa)}]]></r>`;
const fault = (code: string) =>
  `<soap:Envelope><soap:Body><soap:Fault><faultcode>soap:${code}</faultcode><faultstring>boom</faultstring></soap:Fault></soap:Body></soap:Envelope>`;
const ack = (msa: string): Ack => parseAck(hl7(msa));

describe("interpret: every kind of answer", () => {
  it("network failures: ambiguous only when the request may have left", () => {
    expect(interpret({ networkError: "ECONNREFUSED", maybeSent: false })).toEqual({
      outcome: { kind: "retry", error: "ECONNREFUSED", ambiguous: false },
    });
    expect(interpret({ networkError: "TIMEOUT", maybeSent: true })).toEqual({
      outcome: { kind: "retry", error: "TIMEOUT", ambiguous: true },
    });
  });

  it("401/403 and 404 hold the route with an alert and a recheck, whatever the body", () => {
    expect(BLOCKED_RECHECK_MS).toBe(600_000);
    for (const status of [401, 403])
      expect(interpret({ status, body: soap("MSA|AA|c1"), retryAfterMs: 5 })).toEqual({
        outcome: {
          kind: "retry",
          error: `HL7 partner credentials refused (HTTP ${status})`,
          retryAfterMs: 600_000,
        },
        blocked: "HL7_AUTH_FAILED",
      });
    expect(interpret({ status: 404, body: "" })).toEqual({
      outcome: {
        kind: "retry",
        error: "HL7 endpoint not found (HTTP 404): check routes.hl7.url",
        retryAfterMs: 600_000,
      },
      blocked: "HL7_ENDPOINT_NOT_FOUND",
    });
  });

  it("SOAP faults: Client is a rejection, Server (or unknown) a retry that may have been processed", () => {
    expect(interpret({ status: 500, body: fault("Client") })).toEqual({
      outcome: { kind: "rejected", reason: "SOAP fault (Client): boom" },
    });
    expect(interpret({ status: 500, body: fault("Server"), retryAfterMs: 7 })).toEqual({
      outcome: { kind: "retry", error: "SOAP fault (Server): boom", ambiguous: true, retryAfterMs: 7 },
    });
    expect(interpret({ status: 200, body: fault("Server") })).toEqual({
      outcome: { kind: "retry", error: "SOAP fault (Server): boom", ambiguous: true },
    });
    expect(interpret({ status: 500, body: "<Fault><faultstring>x</faultstring></Fault>" })).toEqual({
      outcome: { kind: "retry", error: "SOAP fault (unknown): x", ambiguous: true },
    });
    const long = `<Fault><faultcode>Server</faultcode><faultstring>${"y".repeat(300)}</faultstring></Fault>`;
    expect(interpret({ status: 500, body: long })).toEqual({
      outcome: { kind: "retry", error: `SOAP fault (Server): ${"y".repeat(200)}`, ambiguous: true },
    });
  });

  it("HTTP statuses: 408/429 not processed, 5xx maybe processed, Retry-After honoured; other non-2xx rejected", () => {
    for (const status of [408, 429]) {
      expect(interpret({ status, body: "" })).toEqual({
        outcome: { kind: "retry", error: `HTTP ${status}`, ambiguous: false },
      });
      expect(interpret({ status, body: "", retryAfterMs: 5000 })).toEqual({
        outcome: { kind: "retry", error: `HTTP ${status}`, ambiguous: false, retryAfterMs: 5000 },
      });
    }
    for (const status of [500, 502, 503, 599])
      expect(interpret({ status, body: "", retryAfterMs: 0 })).toEqual({
        outcome: { kind: "retry", error: `HTTP ${status}`, ambiguous: true, retryAfterMs: 0 },
      });
    expect(interpret({ status: 503, body: "" })).toEqual({
      outcome: { kind: "retry", error: "HTTP 503", ambiguous: true },
    });
    for (const status of [100, 199, 300, 302, 400, 407, 409, 499])
      expect(interpret({ status, body: soap("MSA|AA|c1") }), String(status)).toEqual({
        outcome: { kind: "rejected", reason: `HTTP ${status}` },
      });
  });

  it("a 2xx: the ACK, or why it cannot be read", () => {
    for (const status of [200, 202, 299])
      expect(interpret({ status, body: soap("MSA|AA|c1") })).toEqual({ ack: ack("MSA|AA|c1") });
    expect(interpret({ status: 200, body: "" })).toEqual({
      unreadable: "answer carried no HL7 acknowledgement",
    });
    expect(interpret({ status: 200, body: "<html>Welcome</html>" })).toEqual({
      unreadable: "answer carried no HL7 acknowledgement",
    });
    expect(interpret({ status: 200, body: soap("MSA|OK|c1") })).toEqual({
      unreadable: "answer has no valid MSA-1",
    });
  });
});

describe("settle: what an answer means for the rows of one message", () => {
  it("an outcome passes through; an ACK for our message settles it", () => {
    const passed = { kind: "retry", error: "HTTP 502", ambiguous: true } as const;
    expect(settle({ outcome: passed }, "c1", false)).toBe(passed);
    expect(settle({ ack: ack("MSA|AA|c1") }, "c1", false)).toEqual({ kind: "delivered" });
    expect(settle({ ack: ack("MSA|AR|c1|Bad") }, "c1", false)).toEqual({
      kind: "rejected",
      reason: "AR: Bad",
    });
  });

  it("unreadable, or for another message: an ORU is held as ambiguous, a resendable message retried", () => {
    expect(settle({ unreadable: "no MSA" }, "c1", false)).toEqual({
      kind: "ambiguous",
      reason: "PKB answered, but not readably (no MSA): it may have stored the message",
    });
    expect(settle({ unreadable: "no MSA" }, "c1", true)).toEqual({
      kind: "retry",
      error: "PKB answered, but not readably (no MSA): it may have stored the message",
      ambiguous: true,
    });
    expect(settle({ ack: ack("MSA|AA|c2") }, "c1", false)).toEqual({
      kind: "ambiguous",
      reason:
        "PKB answered, but not readably (ACK answers another message (MSA-2)): it may have stored the message",
    });
    expect(settle({ ack: ack("MSA|AA|") }, "c1", true)).toEqual({
      kind: "retry",
      error: "PKB answered, but not readably (ACK without MSA-2): it may have stored the message",
      ambiguous: true,
    });
  });
});

describe("ackProblem and ackOutcome", () => {
  it("MSA-2 must be our MSH-10 (any case); an AE/AR with none answers ours, an AA/CA with none does not", () => {
    expect(ackProblem(ack("MSA|AA|AbC"), "aBc")).toBeUndefined();
    expect(ackProblem(ack("MSA|AA|abc"), "ABC")).toBeUndefined();
    expect(ackProblem(ack("MSA|AA|ABC"), "abc")).toBeUndefined();
    expect(ackProblem(ack("MSA|AA|abd"), "abc")).toBe("ACK answers another message (MSA-2)");
    expect(ackProblem(ack("MSA|AR|abd"), "abc")).toBe("ACK answers another message (MSA-2)");
    for (const code of ["AE", "AR", "CE", "CR"])
      expect(ackProblem(ack(`MSA|${code}|`), "abc"), code).toBeUndefined();
    for (const code of ["AA", "CA"])
      expect(ackProblem(ack(`MSA|${code}|`), "abc"), code).toBe("ACK without MSA-2");
  });

  it("AA and CA deliver; every other code is a rejection with PKB's text", () => {
    expect(ackOutcome(ack("MSA|AA|c"))).toEqual({ kind: "delivered" });
    expect(ackOutcome(ack("MSA|CA|c"))).toEqual({ kind: "delivered" });
    expect(ackOutcome(ack("MSA|AE|c|Unexpected error"))).toEqual({
      kind: "rejected",
      reason: "AE: Unexpected error",
    });
    for (const code of ["AR", "CE", "CR"])
      expect(ackOutcome(ack(`MSA|${code}|c`))).toEqual({
        kind: "rejected",
        reason: `${code}: no reason given`,
      });
  });
});
