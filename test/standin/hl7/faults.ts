import type { ServerResponse } from "node:http";
import { escapeHl7 } from "../../../src/forward/hl7/encoding.js";
import { type AckVariant, ackVariantBody, soapAnswer } from "./ack-variants.js";

/**
 * A fault the stand-in answers at a rate (chaos runs), instead of the truth. Those named
 * `accept-then-…` (and `unreadable`) happen after PKB processed the message: it is in the record,
 * whatever the hub hears. The others happen before: nothing was stored.
 */
export type Hl7ChaosFault =
  /** HTTP status before processing (500, 503, 429, ...); `retryAfter` as the Retry-After header. */
  | { kind: "status"; status: number; retryAfter?: string }
  /** A SOAP Server fault (HTTP 500) before processing. */
  | { kind: "soap-fault" }
  /** No answer, nothing processed: the sender times out. */
  | { kind: "hang" }
  /** The connection is reset before processing. */
  | { kind: "reset" }
  /** PKB refuses the message (nothing stored): AR, or AE for a message it finds bad. */
  | { kind: "reject"; code: "AR" | "AE"; text: string }
  /** Processed, then no answer: the sender times out. */
  | { kind: "accept-then-hang" }
  /** Processed, then the connection is reset: the answer is lost. */
  | { kind: "accept-then-reset" }
  /** Processed, then a 2xx the hub cannot read as the message's ACK. */
  | { kind: "unreadable"; variant: AckVariant };

/** MSH-10 of a message in the standard delimiters ("" when it cannot be found). */
function controlIdOf(hl7: string): string {
  return hl7.split("\r")[0]?.split("|")[9] ?? "";
}

/** PKB refusing a message it did not process: an ACK with the code and text, for its MSH-10. */
function refusal(hl7: string, code: string, text: string): string {
  const id = controlIdOf(hl7);
  const own = `A${id}`.slice(0, 20); // MSH-10 of the ACK itself (ST, at most 20 characters)
  return `MSH|^~\\&|PKB|PKB|PKBHUB||20260101000000||ACK|${own}|P|2.4\rMSA|${code}|${id}|${escapeHl7(text)}`;
}

/**
 * Random faults for the HL7 stand-in: with probability `rate` a request gets the fault `pick`
 * draws. The server hands each request here (when no fault is queued) with the way to process
 * it; `intercept` answers it itself and returns true, or returns false for a normal answer.
 */
export class Hl7Chaos {
  private rate = 0;
  private pick: () => Hl7ChaosFault = () => ({ kind: "hang" });
  private rand: () => number = Math.random;
  private count = 0;
  /** The faults injected so far, by kind. */
  readonly byKind = new Map<string, number>();

  set(rate: number, pick: () => Hl7ChaosFault, rand: () => number = Math.random): void {
    this.rate = rate;
    this.pick = pick;
    this.rand = rand;
  }

  injected(): number {
    return this.count;
  }

  intercept(hl7: string, res: ServerResponse, process: () => string): boolean {
    if (this.rate <= 0 || this.rand() >= this.rate) return false;
    const fault = this.pick();
    this.count++;
    this.byKind.set(fault.kind, (this.byKind.get(fault.kind) ?? 0) + 1);
    const xml = { "content-type": "text/xml; charset=utf-8" };
    switch (fault.kind) {
      case "status":
        res.writeHead(fault.status, fault.retryAfter ? { "retry-after": fault.retryAfter } : {}).end("error");
        return true;
      case "soap-fault":
        res.writeHead(500, xml).end(ackVariantBody("", "soap-fault"));
        return true;
      case "hang":
        return true;
      case "reset":
        res.socket?.destroy();
        return true;
      case "reject":
        res.writeHead(200, xml).end(soapAnswer(refusal(hl7, fault.code, fault.text)));
        return true;
    }
    const answer = process();
    if (fault.kind === "accept-then-reset") res.socket?.destroy();
    if (fault.kind === "unreadable") res.writeHead(200, xml).end(ackVariantBody(answer, fault.variant));
    return true; // accept-then-hang: no answer at all
  }
}
