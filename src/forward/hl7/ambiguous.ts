import type { Outcome } from "../../buffer/outbox.js";
import type { Logger } from "../../core/log.js";
import { settle } from "./outcome.js";
import type { Exchange } from "./patients.js";
import { buildRetraction } from "./retraction.js";
import type { Hl7RetractionStore, StoredRetraction } from "./retractions.js";
import type { StoredMessage } from "./store.js";

/** routes.hl7.onAmbiguous: what follows an ORU^R01 that may have reached PKB without a readable answer. */
export type OnAmbiguous = "retract" | "hold" | "resend";

export interface OruAmbiguityOptions {
  retractions: Hl7RetractionStore;
  policy: OnAmbiguous;
  /** How long after a send whose fate is unknown before its report is retracted (a first copy may still land). */
  settleMs: number;
  /** Buffer time (monotonic within a boot): every wait. */
  nowMs: () => number;
  /** Wall clock, to stamp the stored retraction. */
  wallMs: () => number;
  newControlId: () => string;
  /** MSH-7 of a retraction built now. */
  messageTime: () => string;
  logger: Logger;
}

/** An outcome that says the message may have reached PKB (sent, no readable answer). */
function maybeStored(o: Outcome): boolean {
  return o.kind === "ambiguous" || (o.kind === "retry" && o.ambiguous === true);
}

function why(o: Outcome): string {
  if (o.kind === "ambiguous" || o.kind === "rejected") return o.reason;
  return o.kind === "retry" ? o.error : o.kind;
}

/**
 * Exactly one copy of an ORU^R01 in the record although PKB de-duplicates nothing (see
 * retraction.md). With `retract`, an ORU that may have reached PKB is, after `settleMs`, retracted
 * (its report id with OBR-25 `R`: PKB deletes every measurement filed under it), and only once PKB
 * has acknowledged the retraction (AA) is the stored original re-sent. Every step is in SQLite
 * before the request that depends on it leaves, so a restart at any point neither skips the
 * retraction nor re-sends the original without one. `hold` leaves the ORU for a person; `resend`
 * sends it again (at least once: PKB may then hold it twice).
 */
export class OruAmbiguity {
  constructor(private readonly o: OruAmbiguityOptions) {}

  /**
   * Before a stored ORU goes (again): undefined when the original may be sent now, else the outcome
   * to settle its rows with (waiting to retract, the retraction's own fate, PKB refusing it).
   * `maybeSent`: some earlier attempt may have reached PKB (the rows are flagged ambiguous).
   */
  async prepare(msg: StoredMessage, maybeSent: boolean, exchange: Exchange): Promise<Outcome | undefined> {
    const { retractions } = this.o;
    let rec = retractions.get(msg.id);
    if (this.o.policy !== "retract") {
      if (rec) retractions.remove(msg.id); // armed under an earlier configuration
      return undefined;
    }
    // Held after PKB refused the retraction, and a person has since ordered the original re-sent.
    if (rec?.state === "held") {
      retractions.remove(msg.id);
      return undefined;
    }
    if (rec === undefined && !maybeSent) return undefined;
    // No retraction yet (the agent stopped while the original was out), or the original was being
    // re-sent when the agent stopped: it may be in PKB (again).
    if (rec === undefined || rec.state === "resending") rec = this.arm(msg);
    if (rec.state === "pending") {
      const waiting = await this.retract(msg, rec, exchange);
      if (waiting) return waiting;
    }
    retractions.setState(msg.id, "resending");
    return undefined;
  }

  /** The original's outcome under the policy; with `retract`, a maybe-stored one arms its retraction. */
  settled(msg: StoredMessage, outcome: Outcome): Outcome {
    const { retractions } = this.o;
    if (!maybeStored(outcome)) {
      // Delivered or refused: the stored retraction goes with its message (ON DELETE CASCADE).
      // Certainly not sent (refused connection, 429, 401…): the acknowledged retraction still stands.
      if (outcome.kind === "retry" && retractions.get(msg.id)?.state === "resending")
        retractions.setState(msg.id, "acked");
      return outcome;
    }
    const reason = why(outcome);
    const told = outcome.kind === "retry" ? outcome.retryAfterMs : undefined;
    const retryAfter = told !== undefined ? { retryAfterMs: told } : {};
    switch (this.o.policy) {
      case "hold":
        return outcome.kind === "ambiguous"
          ? outcome
          : { kind: "ambiguous", reason: `${reason}: PKB may have stored the message` };
      case "resend":
        return { kind: "retry", error: reason, ambiguous: true, ...retryAfter };
      case "retract": {
        this.arm(msg);
        this.o.logger.warn(
          { controlId: msg.controlId, settleSec: this.o.settleMs / 1000 },
          "HL7 ORU may have reached PKB: its report will be retracted (OBR-25 R) before it is re-sent",
        );
        return {
          kind: "retry",
          error: `${reason}: the report will be retracted (OBR-25 R), then re-sent`,
          ambiguous: true,
          ...retryAfter,
        };
      }
    }
  }

  /** A new retraction of the message's report id, stored before it can be sent. */
  private arm(msg: StoredMessage): StoredRetraction {
    const body = buildRetraction(msg.body, this.o.newControlId(), this.o.messageTime());
    const controlId = /^MSH\|(?:[^|\r]*\|){8}([^|\r]*)/.exec(body)?.[1] ?? "";
    return this.o.retractions.arm(
      { messageId: msg.id, controlId, body, notBeforeMs: this.o.nowMs() + this.o.settleMs },
      this.o.wallMs(),
    );
  }

  /**
   * Sends the stored retraction once its wait is over. Undefined when PKB acknowledged it (AA), else
   * the outcome for the rows: a wait, a retry of the identical retraction, or held for a person.
   */
  private async retract(
    msg: StoredMessage,
    rec: StoredRetraction,
    exchange: Exchange,
  ): Promise<Outcome | undefined> {
    const { retractions } = this.o;
    const now = this.o.nowMs();
    if (rec.notBeforeMs > now) {
      const sec = Math.ceil((rec.notBeforeMs - now) / 1000);
      return {
        kind: "retry",
        error: `waiting ${sec} s for a copy still on its way to land before retracting the report`,
        retryAfterMs: rec.notBeforeMs - now,
        ambiguous: true,
      };
    }
    // Until PKB answers, this retraction may still land later: nothing goes after it before then.
    retractions.setNotBefore(msg.id, now + this.o.settleMs);
    const outcome = settle(await exchange(rec.body), rec.controlId, true);
    this.o.logger.info({ controlId: rec.controlId, outcome: outcome.kind }, "HL7 retraction sent");
    if (outcome.kind === "delivered") {
      retractions.setState(msg.id, "acked");
      return undefined;
    }
    if (outcome.kind === "retry") {
      if (!outcome.ambiguous) retractions.setNotBefore(msg.id, rec.notBeforeMs); // it never left
      return { ...outcome, error: `retraction before re-sending: ${outcome.error}`, ambiguous: true };
    }
    retractions.setState(msg.id, "held");
    this.o.logger.warn(
      { controlId: rec.controlId },
      "PKB refused the retraction of an ORU that may be in the record: held for a person, the ORU not re-sent",
    );
    return {
      kind: "ambiguous",
      reason:
        `PKB refused the retraction of this report (${why(outcome)}): the original was not re-sent and ` +
        "may be in the record once or not at all; check the record, then outbox resolve",
    };
  }
}
