import type { Db } from "../../buffer/db.js";
import type { Outcome } from "../../buffer/outbox.js";
import { noteDeletedPhi } from "../../buffer/retention.js";

/** A message as it was built and first sent, with the outbox rows it covers. */
export interface StoredMessage {
  id: number;
  controlId: string;
  body: string;
  rowIds: number[];
  /** PKB's final answer, kept while some rows it covers have not been settled with it yet. */
  answer?: Outcome;
}

/** Rows still to be settled; an `ambiguous` row keeps its message, so a re-send a person orders is byte-identical. */
const OPEN = "('held', 'pending', 'leased', 'ambiguous')";

/**
 * The HL7 messages the hub has built, stored before the first send (tables of migration 2). PKB
 * does not de-duplicate, so a message whose fate is unknown is only ever re-sent byte for byte
 * (same MSH-10, same OBR-3.1) and its rows never go into a second, different message. Once
 * none of its rows is open any more (delivered, dead, pruned) the message is forgotten: a dead
 * letter re-sent by hand after a fix is then built afresh.
 */
export class Hl7MessageStore {
  private readonly stmts;

  constructor(private readonly db: Db) {
    this.stmts = {
      byRow: db.prepare(
        `SELECT m.id, m.control_id AS controlId, m.body, m.answer FROM hl7_message_rows r
         JOIN hl7_messages m ON m.id = r.message_id WHERE r.outbox_id = ?`,
      ),
      rows: db
        .prepare("SELECT outbox_id FROM hl7_message_rows WHERE message_id = ? ORDER BY outbox_id")
        .pluck(),
      insert: db.prepare(
        "INSERT INTO hl7_messages (control_id, body, created_ms) VALUES (@controlId, @body, @now)",
      ),
      insertRow: db.prepare("INSERT INTO hl7_message_rows (outbox_id, message_id) VALUES (?, ?)"),
      answer: db.prepare("UPDATE hl7_messages SET answer = ? WHERE id = ?"),
      forgetOne: db.prepare("DELETE FROM hl7_messages WHERE id = ?"),
      forget: db.prepare(
        `DELETE FROM hl7_messages WHERE id IN (SELECT message_id FROM hl7_message_rows WHERE outbox_id IN (SELECT value FROM json_each(@ids)))
         AND NOT EXISTS (SELECT 1 FROM hl7_message_rows r JOIN outbox o ON o.id = r.outbox_id
                         WHERE r.message_id = hl7_messages.id AND o.state IN ${OPEN})`,
      ),
      orphans: db.prepare(
        "DELETE FROM hl7_messages WHERE NOT EXISTS (SELECT 1 FROM hl7_message_rows WHERE message_id = hl7_messages.id)",
      ),
    };
  }

  /** The stored message that covers this outbox row, if there is one. */
  forRow(rowId: number): StoredMessage | undefined {
    const m = this.stmts.byRow.get(rowId) as
      | { id: number; controlId: string; body: string; answer: string | null }
      | undefined;
    if (!m) return undefined;
    const rowIds = this.stmts.rows.all(m.id) as number[];
    return {
      id: m.id,
      controlId: m.controlId,
      body: m.body,
      rowIds,
      ...(m.answer ? { answer: JSON.parse(m.answer) as Outcome } : {}),
    };
  }

  /** Stores a message for its rows, durably, before it is sent for the first time. */
  save(rowIds: number[], controlId: string, body: string, nowMs: number): StoredMessage {
    return this.db.transaction(() => {
      const id = Number(this.stmts.insert.run({ controlId, body, now: nowMs }).lastInsertRowid);
      for (const rowId of rowIds) this.stmts.insertRow.run(rowId, id);
      return { id, controlId, body, rowIds: [...rowIds] };
    })();
  }

  /** PKB answered for good while some rows of the message were not leased: they get the same answer later, unsent. */
  recordAnswer(messageId: number, outcome: Outcome): void {
    this.stmts.answer.run(JSON.stringify(outcome), messageId);
  }

  /**
   * Forgets one message whose answer proved PKB did not process it (so its rows are built afresh,
   * with a new MSH-10, when they are sent again).
   */
  forget(messageId: number): void {
    this.db.transaction(() => {
      if (this.stmts.forgetOne.run(messageId).changes > 0) noteDeletedPhi(this.db);
    })();
  }

  /** Forgets the messages of these rows once none of their rows is open; also those whose rows were all pruned. */
  forgetClosed(rowIds: number[]): void {
    this.db.transaction(() => {
      const gone =
        this.stmts.forget.run({ ids: JSON.stringify(rowIds) }).changes + this.stmts.orphans.run().changes;
      if (gone > 0) noteDeletedPhi(this.db);
    })();
  }
}
