import type { Outcome } from "../../buffer/outbox.js";
import { messageOf } from "../../core/errors.js";
import { type Ack, parseAck } from "./ack.js";
import { extractHl7, type SoapAnswer, soapFault } from "./soap.js";

/** While the endpoint refuses the partner (401/403) or is not there (404), rows wait this long per check, no attempt spent. */
export const BLOCKED_RECHECK_MS = 10 * 60_000;

/** Why the whole route is blocked until a person acts (an alert, not a dead letter per reading). */
export type Blocked = "HL7_AUTH_FAILED" | "HL7_ENDPOINT_NOT_FOUND";

export type Interpreted =
  | { ack: Ack }
  /** A 2xx whose body is no acknowledgement the hub can read: PKB probably processed the message. */
  | { unreadable: string }
  | { outcome: Outcome; blocked?: Blocked };

/**
 * A SOAP answer → PKB's ACK, or what the outbox should do:
 * - no answer after the request left, timeouts, HTTP 5xx and SOAP Server faults → retry, marked
 *   ambiguous (PKB may have stored it; the identical message is re-sent, as PKB does not de-duplicate);
 * - not sent at all (refused connection, untrusted certificate), 408, 429 → retry, not ambiguous;
 * - 401/403 (credentials) and 404 (endpoint URL) → held without spending attempts, with an alert:
 *   they need a person, and dead-lettering a whole backlog for a wrong password would only make
 *   work (and a re-send by hand) without protecting anything;
 * - SOAP Client faults and other 4xx → rejected: sending the same bytes again cannot succeed;
 * - a 2xx without an acknowledgement the hub can read (no HL7, no MSH, no valid MSA-1: an HTML page,
 *   an empty body, a SOAP fault) → `unreadable`: the request arrived and was probably processed (see `settle`).
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
  const ok = status >= 200 && status < 300;
  // A fault inside a 2xx contradicts itself: PKB may have stored the message (see `settle`).
  if (fault !== undefined && ok) return { unreadable: `SOAP fault in an HTTP ${status} answer` };
  if (fault !== undefined) {
    const text = `SOAP fault (${fault.code || "unknown"}): ${fault.text.slice(0, 200)}`;
    if (fault.code === "Client") return { outcome: { kind: "rejected", reason: text } };
    return { outcome: { kind: "retry", error: text, ambiguous: true, ...wait } };
  }
  if (status === 408 || status === 429)
    return { outcome: { kind: "retry", error: `HTTP ${status}`, ambiguous: false, ...wait } };
  if (status >= 500) return { outcome: { kind: "retry", error: `HTTP ${status}`, ambiguous: true, ...wait } };
  if (!ok) return { outcome: { kind: "rejected", reason: `HTTP ${status}` } };
  const hl7 = extractHl7(body);
  if (!hl7) return { unreadable: "answer carried no HL7 acknowledgement" };
  try {
    return { ack: parseAck(hl7) };
  } catch (err) {
    return { unreadable: messageOf(err) };
  }
}

/**
 * What PKB's answer to one message means for its rows. `resendable`: whether sending the same
 * message again is harmless — true for A19 (a query), A28 (always preceded by a fresh A19) and
 * MDM^T02 (TXA-12 replaces the document); false for ORU^R01, which PKB stores again every time.
 * An answer the hub cannot read, or an ACK for another message (MSA-2 ≠ our MSH-10), after PKB
 * took the request: a resendable message is retried (marked ambiguous); an ORU is `ambiguous`,
 * never re-sent blindly (the same ORU stored 50 times is the alternative): `OruAmbiguity`
 * (ambiguous.ts) retracts it first, holds it for a person or re-sends it, per routes.hl7.onAmbiguous.
 */
export function settle(answer: Interpreted, controlId: string, resendable: boolean): Outcome {
  if ("outcome" in answer) return answer.outcome;
  const why = "ack" in answer ? ackProblem(answer.ack, controlId) : answer.unreadable;
  // `why` is undefined only for an ACK that answers our message.
  if (why === undefined) return ackOutcome((answer as { ack: Ack }).ack);
  const reason = `PKB answered, but not readably (${why}): it may have stored the message`;
  return resendable ? { kind: "retry", error: reason, ambiguous: true } : { kind: "ambiguous", reason };
}

/**
 * Why an ACK does not settle our message, or undefined when it does. MSA-2 is compared without
 * regard to case (control ids are lower-case hex: no two differ only in case). An AE/AR with an
 * empty MSA-2 is PKB refusing a message whose MSH it could not read: it answers ours.
 */
export function ackProblem(ack: Ack, controlId: string): string | undefined {
  if (ack.controlId.toLowerCase() === controlId.toLowerCase()) return undefined;
  if (ack.controlId === "" && ack.code !== "AA" && ack.code !== "CA") return undefined;
  return ack.controlId === "" ? "ACK without MSA-2" : "ACK answers another message (MSA-2)";
}

/** AA delivered; AR/AE dead letter with PKB's MSA-3 text (PKB advises no automatic retry). */
export function ackOutcome(ack: Ack): Outcome {
  if (ack.code === "AA" || ack.code === "CA") return { kind: "delivered" };
  return { kind: "rejected", reason: `${ack.code}: ${ack.text || "no reason given"}` };
}
