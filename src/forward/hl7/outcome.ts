import type { Outcome } from "../../buffer/outbox.js";
import { isHubError } from "../../core/errors.js";
import { type Ack, parseAck } from "./messages.js";
import { extractHl7, type SoapAnswer, soapFault } from "./soap.js";

/** While PKB refuses the partner credentials, messages wait (no attempt spent) and are tried again after this. */
export const AUTH_RECHECK_MS = 10 * 60_000;

export type Interpreted = { ack: Ack } | { outcome: Outcome };

/**
 * A SOAP answer → PKB's ACK, or what the outbox should do. AA/AR/AE are read by the caller; no
 * answer, 5xx and timeouts are retried (ambiguous when the request may have arrived, since PKB does
 * not de-duplicate and the identical message will be re-sent); refused credentials wait.
 */
export function interpret(answer: SoapAnswer): Interpreted {
  if ("networkError" in answer)
    return { outcome: { kind: "retry", error: answer.networkError, ambiguous: answer.maybeSent } };
  const { status, body } = answer;
  if (status === 401 || status === 403) {
    return {
      outcome: {
        kind: "retry",
        error: `HL7 credentials refused (HTTP ${status})`,
        retryAfterMs: AUTH_RECHECK_MS,
      },
    };
  }
  const fault = soapFault(body);
  if (fault !== undefined)
    return { outcome: { kind: "retry", error: `SOAP fault: ${fault.slice(0, 200)}`, ambiguous: false } };
  if (status >= 500) return { outcome: { kind: "retry", error: `HTTP ${status}`, ambiguous: true } };
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

/** AA delivered; AR/AE dead letter with PKB's text (PKB advises no automatic retry). */
export function ackOutcome(ack: Ack): Outcome {
  if (ack.code === "AA" || ack.code === "CA") return { kind: "delivered" };
  return { kind: "rejected", reason: `${ack.code}: ${ack.text || "no reason given"}` };
}
