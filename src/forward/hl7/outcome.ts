import type { Outcome } from "../../buffer/outbox.js";
import { isHubError } from "../../core/errors.js";
import { type Ack, parseAck } from "./ack.js";
import { extractHl7, type SoapAnswer, soapFault } from "./soap.js";

/** While the endpoint refuses the partner (401/403) or is not there (404), rows wait this long per check, no attempt spent. */
export const BLOCKED_RECHECK_MS = 10 * 60_000;

/** Why the whole route is blocked until a person acts (an alert, not a dead letter per reading). */
export type Blocked = "HL7_AUTH_FAILED" | "HL7_ENDPOINT_NOT_FOUND";

export type Interpreted = { ack: Ack } | { outcome: Outcome; blocked?: Blocked };

/**
 * A SOAP answer → PKB's ACK, or what the outbox should do:
 * - no answer after the request left, timeouts, HTTP 5xx and SOAP Server faults → retry, marked
 *   ambiguous (PKB may have stored it; the identical message is re-sent, as PKB does not de-duplicate);
 * - not sent at all (refused connection, untrusted certificate), 408, 429 → retry, not ambiguous;
 * - 401/403 (credentials) and 404 (endpoint URL) → held without spending attempts, with an alert:
 *   they need a person, and dead-lettering a whole backlog for a wrong password would only make
 *   work (and a re-send by hand) without protecting anything;
 * - SOAP Client faults and other 4xx → rejected: sending the same bytes again cannot succeed.
 */
export function interpret(answer: SoapAnswer): Interpreted {
  if ("networkError" in answer)
    return { outcome: { kind: "retry", error: answer.networkError, ambiguous: answer.maybeSent } };
  const { status, body } = answer;
  const wait = answer.retryAfterMs !== undefined ? { retryAfterMs: answer.retryAfterMs } : {};
  if (status === 401 || status === 403) {
    const error = `HL7 partner credentials refused (HTTP ${status})`;
    return {
      outcome: { kind: "retry", error, retryAfterMs: BLOCKED_RECHECK_MS },
      blocked: "HL7_AUTH_FAILED",
    };
  }
  if (status === 404) {
    const error = "HL7 endpoint not found (HTTP 404): check routes.hl7.url";
    return {
      outcome: { kind: "retry", error, retryAfterMs: BLOCKED_RECHECK_MS },
      blocked: "HL7_ENDPOINT_NOT_FOUND",
    };
  }
  const fault = soapFault(body);
  if (fault !== undefined) {
    const text = `SOAP fault (${fault.code || "unknown"}): ${fault.text.slice(0, 200)}`;
    if (fault.code === "Client") return { outcome: { kind: "rejected", reason: text } };
    return { outcome: { kind: "retry", error: text, ambiguous: true, ...wait } };
  }
  if (status === 408 || status === 429)
    return { outcome: { kind: "retry", error: `HTTP ${status}`, ambiguous: false, ...wait } };
  if (status >= 500) return { outcome: { kind: "retry", error: `HTTP ${status}`, ambiguous: true, ...wait } };
  if (status < 200 || status >= 300) return { outcome: { kind: "rejected", reason: `HTTP ${status}` } };
  const hl7 = extractHl7(body);
  if (!hl7)
    return { outcome: { kind: "retry", error: "answer carried no HL7 acknowledgement", ambiguous: true } };
  try {
    return { ack: parseAck(hl7) };
  } catch (err) {
    return {
      outcome: { kind: "retry", error: isHubError(err) ? err.message : "unreadable ACK", ambiguous: true },
    };
  }
}

/**
 * AA delivered; AR/AE dead letter with PKB's MSA-3 text (PKB advises no automatic retry). An ACK
 * naming another message (MSA-2 ≠ our MSH-10) proves nothing about ours: ambiguous, re-sent.
 */
export function ackOutcome(ack: Ack, controlId: string): Outcome {
  if (ack.controlId !== "" && ack.controlId !== controlId)
    return { kind: "retry", error: "ACK answers another message (MSA-2)", ambiguous: true };
  if (ack.code === "AA" || ack.code === "CA") return { kind: "delivered" };
  return { kind: "rejected", reason: `${ack.code}: ${ack.text || "no reason given"}` };
}
