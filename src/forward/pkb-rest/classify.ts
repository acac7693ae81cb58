import type { Outcome } from "../../buffer/outbox.js";

/** A Retry-After header in seconds or as an HTTP date, in ms from now; undefined when absent or nonsense. */
export function retryAfterMs(header: string | null, nowMs: number): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds, 86_400) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.min(at - nowMs, 86_400_000));
}

export type Answer =
  | { status: number; retryAfter: string | null; message: string }
  | { networkError: string; maybeSent: boolean };

/**
 * A PKB answer → what the outbox does: 2xx delivered; 429/503 retry when the server says; other 5xx
 * and network failures back off (ambiguous when the request may have arrived); other 4xx are
 * rejections kept as dead letters with PKB's message. 401 is handled before this (refresh once).
 */
export function classify(answer: Answer, nowMs: number): Outcome {
  if ("networkError" in answer) {
    return { kind: "retry", error: answer.networkError, ambiguous: answer.maybeSent };
  }
  const { status, message } = answer;
  if (status >= 200 && status < 300) return { kind: "delivered" };
  if (status === 429 || status === 503) {
    const after = retryAfterMs(answer.retryAfter, nowMs);
    const error = `HTTP ${status}`;
    return after === undefined
      ? { kind: "retry", error, ambiguous: false }
      : { kind: "retry", error, retryAfterMs: after };
  }
  if (status >= 500 || status === 408) return { kind: "retry", error: `HTTP ${status}`, ambiguous: true };
  return { kind: "rejected", reason: `HTTP ${status}: ${message.slice(0, 500)}` };
}
