import { createHash } from "node:crypto";
import type { HubBuffer } from "../../buffer/buffer.js";
import type { Outcome } from "../../buffer/outbox.js";
import type { Clock } from "../../core/clock.js";
import type { Logger } from "../../core/log.js";
import { queryResult } from "./ack.js";
import { queryId } from "./ids.js";
import { buildAdtA28, buildQryA19, type Hl7Patient, type Sender } from "./messages.js";
import { ackOutcome, ackProblem, type Interpreted, settle } from "./outcome.js";

/** Sends one HL7 message and reads the answer. */
export type Exchange = (hl7: string) => Promise<Interpreted>;

/** The patient's rows cannot go now: settle them all with this outcome. */
export class Deferred extends Error {
  constructor(readonly outcome: Outcome) {
    super("deferred");
  }
}

/** The rows' own message never left: whatever happened to the A19/A28, the rows are not ambiguous. */
function notSent(o: Outcome): Outcome {
  return o.kind === "retry" ? { ...o, ambiguous: false } : o;
}

/** Where what PKB knows of a patient is kept in the buffer's kv: per sending facility and NHS number, hashed. */
export function patientStateKey(sendingFacility: string, nhsNumber: string): string {
  const h = createHash("sha256").update(`${sendingFacility}|${nhsNumber}`).digest("hex");
  return `hl7:patient:${h.slice(0, 32)}`;
}

export interface PatientWorkflowOptions {
  buffer: HubBuffer;
  sender: Sender;
  clock: Clock;
  logger: Logger;
  newControlId: () => string;
}

/**
 * Makes sure PKB knows a patient before data is sent for them: A19 first (the answer cached in the
 * buffer once PKB knows the patient), ADT^A28 only when PKB does not. The cache is keyed by the
 * sending facility and NHS number (hashed), so a corrected NHS number or another alias is asked
 * about afresh. "a28-sent" is written before the A28 leaves: after a crash or an unanswered A28 the
 * next pass asks again with A19 and so never creates a record PKB already has. One forwarder
 * sends at a time (concurrency 1) and the agent holds a lock on the data directory, so two
 * passes never race for the same patient.
 */
export class PatientWorkflow {
  constructor(private readonly o: PatientWorkflowOptions) {}

  /**
   * Resolves when PKB knows the patient: `cached` when an earlier answer said so, `confirmed` when
   * PKB said so in this pass. Throws Deferred with what the rows should do otherwise.
   */
  async ensureKnown(localKey: string, p: Hl7Patient, exchange: Exchange): Promise<"cached" | "confirmed"> {
    const key = patientStateKey(this.o.sender.sendingFacility, p.nhsNumber);
    if (this.o.buffer.kvGet(key) === "known") return "cached";
    const controlId = this.o.newControlId();
    const qrd4 = this.nextQueryId();
    const query = await exchange(
      buildQryA19(this.o.sender, p.nhsNumber, controlId, this.o.clock.nowMs(), qrd4),
    );
    // No answer, or none the hub can read: asking again is harmless (a query stores nothing).
    if (!("ack" in query) || ackProblem(query.ack, controlId) !== undefined)
      throw new Deferred(notSent(settle(query, controlId, true)));
    const asked = ackOutcome(query.ack);
    if (asked.kind === "rejected")
      throw new Deferred({ kind: "rejected", reason: `patient query (A19) refused: ${asked.reason}` });
    // An answer that echoes another query's QRD-4 lists another query's patients: asked again later.
    if (query.ack.queryId !== "" && query.ack.queryId !== qrd4)
      throw new Deferred({
        kind: "retry",
        error: "A19 answer echoes another query (QRD-4)",
        ambiguous: false,
      });
    const result = queryResult(query.ack, p.nhsNumber);
    if (result.mismatch)
      this.o.logger.warn(
        { patient: localKey },
        "A19 answer lists a patient under other NHS identifiers: taken as known, no A28",
      );
    if (result.found) {
      this.o.buffer.kvSet(key, "known");
      return "confirmed";
    }
    this.o.buffer.kvSet(key, "a28-sent");
    this.o.logger.info({ patient: localKey }, "patient unknown to PKB: creating the record (A28)");
    const createId = this.o.newControlId();
    const created = await exchange(buildAdtA28(this.o.sender, p, createId, this.o.clock.nowMs()));
    // Unanswered or unreadable: "a28-sent" stays, so the next pass asks with A19 before any A28.
    if (!("ack" in created) || ackProblem(created.ack, createId) !== undefined)
      throw new Deferred(notSent(settle(created, createId, true)));
    const outcome = ackOutcome(created.ack);
    if (outcome.kind === "rejected") {
      // PKB did not create it: the next batch (or a re-send by hand after a fix) asks again.
      this.o.buffer.kvDelete(key);
      throw new Deferred({
        kind: "rejected",
        reason: `patient record creation (A28) refused: ${outcome.reason}`,
      });
    }
    this.o.buffer.kvSet(key, "known");
    return "confirmed";
  }

  /** PKB refused a message as for an unknown patient: the next pass asks again (A19) before anything else. */
  forget(p: Hl7Patient): void {
    this.o.buffer.kvDelete(patientStateKey(this.o.sender.sendingFacility, p.nhsNumber));
  }

  /** QRD-4 from a counter in the buffer: never the same twice for this buffer. */
  private nextQueryId(): string {
    const n = Number(this.o.buffer.kvGet(QUERY_COUNTER) ?? "0") + 1;
    this.o.buffer.kvSet(QUERY_COUNTER, String(n));
    return queryId(n);
  }
}

const QUERY_COUNTER = "hl7:query-counter";
