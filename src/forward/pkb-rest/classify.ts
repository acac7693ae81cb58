import type { Outcome } from "../../buffer/outbox.js";
import { parseRetryAfter } from "../retry-after.js";
import { createdMeasurementProblem } from "./measurement-map.js";

export type Answer =
  | { status: number; retryAfter: string | null; body: string }
  | { networkError: string; maybeSent: boolean };

/** PKB's error text from an answer's body: its JSON `message`, or the text as it is. */
function messageOf(body: string): string {
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    if (typeof parsed.message === "string") return parsed.message;
  } catch {
    // not JSON: keep the text
  }
  return body;
}

/**
 * A PKB answer → what the outbox does: a 2xx whose body says what was created is delivered; a 2xx
 * the hub cannot read (HTML from a proxy, not JSON, no id) is `ambiguous`: PKB may have stored it,
 * so it is never re-sent blindly, and a person is told; 429/503 retry when the server says (one
 * capped Retry-After parser for both routes); other 5xx and network failures back off (ambiguous
 * when the request may have arrived); other 4xx are rejections kept as dead letters with PKB's
 * message. 401 is handled before this (refresh once).
 */
export function classify(answer: Answer, nowMs: number): Outcome {
  if ("networkError" in answer) {
    return { kind: "retry", error: answer.networkError, ambiguous: answer.maybeSent };
  }
  const { status } = answer;
  if (status >= 200 && status < 300) {
    const problem = createdMeasurementProblem(answer.body);
    // The body is not quoted: it may be anything, PHI included.
    return problem
      ? {
          kind: "ambiguous",
          reason: `PKB answered HTTP ${status} but ${problem}: it may have stored the measurement`,
        }
      : { kind: "delivered" };
  }
  if (status === 429 || status === 503) {
    const after = parseRetryAfter(answer.retryAfter, nowMs);
    const error = `HTTP ${status}`;
    return after === undefined
      ? { kind: "retry", error, ambiguous: false }
      : { kind: "retry", error, retryAfterMs: after };
  }
  if (status >= 500 || status === 408) return { kind: "retry", error: `HTTP ${status}`, ambiguous: true };
  return { kind: "rejected", reason: `HTTP ${status}: ${messageOf(answer.body).slice(0, 500)}` };
}
