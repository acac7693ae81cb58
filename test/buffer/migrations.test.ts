import { mkdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MIGRATIONS } from "../../src/buffer/migrations.js";
import { makeBuffer, outboxStates } from "../support/buffer.js";
import { tempDir } from "../support/tmp.js";

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

/** A buffer as version 2 of the schema left it, with a dead letter, a lease and an HL7 message. */
function version2(file: string): void {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("foreign_keys = ON");
  for (const sql of MIGRATIONS.slice(0, 2)) db.exec(sql);
  db.pragma("user_version = 2");
  const reading = db.prepare(
    "INSERT INTO readings (key, patient, device_id, kind, measured_at, time_source, body, created_ms) VALUES (?, 'hl7-a', 'd', 'bp', '2026-01-01T00:00:00Z', 'device', '{}', 1)",
  );
  const row = db.prepare(
    "INSERT INTO outbox (id, reading_id, route, patient, state, available_ms, lease_token, lease_expires_ms, dead_reason, created_ms) VALUES (?, ?, 'hl7', 'hl7-a', ?, 5, ?, ?, ?, 1)",
  );
  for (let i = 1; i <= 3; i++) reading.run(`k${i}`);
  row.run(7, 1, "dead", null, null, "AR: unknown patient");
  row.run(8, 2, "leased", "tok", 99, null);
  row.run(9, 3, "pending", null, null, null);
  db.prepare(
    "INSERT INTO hl7_messages (id, control_id, body, created_ms) VALUES (1, 'c1', 'MSH|...', 1)",
  ).run();
  db.prepare("INSERT INTO hl7_message_rows (outbox_id, message_id) VALUES (8, 1)").run();
  db.close();
}

describe("buffer migrations", () => {
  it("migration 3 rebuilds the outbox keeping ids, rows, HL7 message links and indexes", () => {
    const dir = join(tmp.dir, "data");
    mkdirSync(dir);
    version2(join(dir, "buffer.db"));
    const { buffer } = makeBuffer(dir);
    try {
      expect(buffer.db.pragma("user_version", { simple: true })).toBe(MIGRATIONS.length);
      expect(outboxStates(buffer)).toEqual([
        { id: 7, state: "dead" },
        { id: 8, state: "leased" },
        { id: 9, state: "pending" },
      ]);
      expect(buffer.outbox.deadLetters()).toEqual([
        expect.objectContaining({ id: 7, reason: "AR: unknown patient" }),
      ]);
      expect(buffer.db.prepare("SELECT outbox_id, message_id FROM hl7_message_rows").all()).toEqual([
        { outbox_id: 8, message_id: 1 },
      ]);
      expect(buffer.db.pragma("foreign_keys", { simple: true })).toBe(1);
      const indexes = buffer.db
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'outbox' ORDER BY name")
        .pluck()
        .all();
      expect(indexes).toEqual([
        "outbox_ambiguous",
        "outbox_dead",
        "outbox_delivered",
        "outbox_held",
        "outbox_leased",
        "outbox_patient_open",
        "outbox_quarantined",
        "outbox_reading",
        "outbox_ready",
        "outbox_unsent",
      ]);
      // The lease taken before the upgrade is reclaimed like any other, to pending.
      expect(buffer.outbox.reclaimAll()).toBe(1);
      expect(outboxStates(buffer)[1]).toEqual({ id: 8, state: "pending" });
      // The new states are accepted; an unknown one is still refused by the CHECK.
      expect(() =>
        buffer.db.prepare("UPDATE outbox SET state = 'ambiguous' WHERE id = 9").run(),
      ).not.toThrow();
      expect(() => buffer.db.prepare("UPDATE outbox SET state = 'lost' WHERE id = 9").run()).toThrow(/CHECK/);
    } finally {
      buffer.close();
    }
  });
});
