import type { Db } from "../../buffer/db.js";

/** Where the retraction of one stored ORU stands (see migration 5 and retraction.md). */
export type RetractionState = "pending" | "acked" | "resending" | "held";

export interface StoredRetraction {
  messageId: number;
  controlId: string;
  body: string;
  state: RetractionState;
  /** Buffer time before which it is not sent (a first copy may still be landing). */
  notBeforeMs: number;
}

/**
 * The retraction (OBR-25 `R`) of each stored ORU whose fate is unknown: stored before it is sent,
 * re-sent byte for byte while its own fate is unknown, and forgotten with its message.
 */
export class Hl7RetractionStore {
  private readonly stmts;

  constructor(db: Db) {
    this.stmts = {
      get: db.prepare(
        `SELECT message_id AS messageId, control_id AS controlId, body, state, not_before_ms AS notBeforeMs
         FROM hl7_retractions WHERE message_id = ?`,
      ),
      arm: db.prepare(
        `INSERT OR REPLACE INTO hl7_retractions (message_id, control_id, body, state, not_before_ms, created_ms)
         VALUES (@messageId, @controlId, @body, 'pending', @notBeforeMs, @nowMs)`,
      ),
      state: db.prepare("UPDATE hl7_retractions SET state = ? WHERE message_id = ?"),
      notBefore: db.prepare("UPDATE hl7_retractions SET not_before_ms = ? WHERE message_id = ?"),
      remove: db.prepare("DELETE FROM hl7_retractions WHERE message_id = ?"),
    };
  }

  get(messageId: number): StoredRetraction | undefined {
    return this.stmts.get.get(messageId) as StoredRetraction | undefined;
  }

  /** A new retraction for the message, to be sent not before `notBeforeMs` (replaces any earlier one). */
  arm(r: Omit<StoredRetraction, "state">, nowMs: number): StoredRetraction {
    this.stmts.arm.run({ ...r, nowMs });
    return { ...r, state: "pending" };
  }

  setState(messageId: number, state: RetractionState): void {
    this.stmts.state.run(state, messageId);
  }

  setNotBefore(messageId: number, notBeforeMs: number): void {
    this.stmts.notBefore.run(notBeforeMs, messageId);
  }

  remove(messageId: number): void {
    this.stmts.remove.run(messageId);
  }
}
