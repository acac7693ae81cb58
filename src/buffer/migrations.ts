/**
 * Versioned schema. Append only: never edit a released step; add a new one. `PRAGMA user_version`
 * records how far a database has come.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: readings, documents, the outbox, counters, alerts, small route state
  `
  CREATE TABLE readings (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    patient TEXT NOT NULL,
    device_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    measured_at TEXT NOT NULL,
    time_source TEXT NOT NULL,
    boot_id TEXT,
    mono_ms INTEGER,
    body TEXT,               -- the Reading as JSON; NULL once delivered and pruned (the key stays for de-duplication)
    created_ms INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE documents (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    patient TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT,
    created_ms INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    reading_id INTEGER REFERENCES readings(id),
    document_id INTEGER REFERENCES documents(id),
    route TEXT NOT NULL,
    patient TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('held', 'pending', 'leased', 'delivered', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    available_ms INTEGER NOT NULL,
    lease_token TEXT,
    lease_expires_ms INTEGER,
    last_error TEXT,
    dead_reason TEXT,
    ambiguous INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL,
    done_ms INTEGER,
    CHECK ((reading_id IS NULL) <> (document_id IS NULL))
  ) STRICT;

  CREATE INDEX outbox_ready ON outbox (route, available_ms, id) WHERE state = 'pending';
  CREATE INDEX outbox_leased ON outbox (lease_expires_ms) WHERE state = 'leased';
  CREATE INDEX outbox_patient_open ON outbox (route, patient, id) WHERE state IN ('pending', 'leased');
  CREATE INDEX outbox_unsent ON outbox (id) WHERE state IN ('held', 'pending', 'leased');
  CREATE INDEX outbox_delivered ON outbox (done_ms) WHERE state = 'delivered';
  CREATE INDEX outbox_dead ON outbox (id) WHERE state = 'dead';
  CREATE INDEX outbox_held ON outbox (reading_id) WHERE state = 'held';
  CREATE INDEX outbox_reading ON outbox (reading_id);
  CREATE INDEX readings_pruned ON readings (id) WHERE body IS NULL;

  CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) STRICT;

  CREATE TABLE alerts (
    code TEXT PRIMARY KEY,
    message TEXT NOT NULL,
    raised_ms INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT NOT NULL, updated_ms INTEGER NOT NULL) STRICT;
  `,
  // 2: HL7 route — each message as built, and the outbox rows it covers, so that a retry after an
  // ambiguous outcome re-sends it byte for byte (PKB does not de-duplicate). Rows go with their outbox row.
  `
  CREATE TABLE hl7_messages (
    id INTEGER PRIMARY KEY,
    control_id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    answer TEXT,             -- PKB's final outcome (JSON) while some rows it covers are still to be settled
    created_ms INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE hl7_message_rows (
    outbox_id INTEGER PRIMARY KEY REFERENCES outbox(id) ON DELETE CASCADE,
    message_id INTEGER NOT NULL REFERENCES hl7_messages(id) ON DELETE CASCADE
  ) STRICT;

  CREATE INDEX hl7_message_rows_message ON hl7_message_rows (message_id);
  `,
  // 3: outbox states `ambiguous` (sent, outcome unknown: a person or reconciliation settles it, never
  // a blind re-send) and `quarantined` (a physically impossible value: kept, never claimed). SQLite
  // cannot alter a CHECK, so the table is rebuilt with its ids (hl7_message_rows points at them) and
  // indexes; migrate() runs this with foreign keys off so dropping the old table cascades nothing.
  // `reason` replaces `dead_reason`: why a row waits for a person (dead, quarantined, ambiguous); it may
  // quote PKB (PHI), so it is shown only on request. `lease_from` is the state a lease was taken from, so
  // an expired lease on a row under reconciliation goes back to `ambiguous`, never to `pending`.
  `
  CREATE TABLE outbox_v3 (
    id INTEGER PRIMARY KEY,
    reading_id INTEGER REFERENCES readings(id),
    document_id INTEGER REFERENCES documents(id),
    route TEXT NOT NULL,
    patient TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('held', 'pending', 'leased', 'ambiguous', 'quarantined', 'delivered', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    available_ms INTEGER NOT NULL,
    lease_token TEXT,
    lease_expires_ms INTEGER,
    lease_from TEXT CHECK (lease_from IN ('pending', 'ambiguous')),
    last_error TEXT,
    reason TEXT,
    ambiguous INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL,
    done_ms INTEGER,
    CHECK ((reading_id IS NULL) <> (document_id IS NULL))
  ) STRICT;

  INSERT INTO outbox_v3 (id, reading_id, document_id, route, patient, state, attempts, available_ms, lease_token,
                         lease_expires_ms, lease_from, last_error, reason, ambiguous, created_ms, done_ms)
    SELECT id, reading_id, document_id, route, patient, state, attempts, available_ms, lease_token,
           lease_expires_ms, CASE WHEN state = 'leased' THEN 'pending' END, last_error, dead_reason, ambiguous,
           created_ms, done_ms
    FROM outbox;

  DROP TABLE outbox;
  ALTER TABLE outbox_v3 RENAME TO outbox;

  CREATE INDEX outbox_ready ON outbox (route, available_ms, id) WHERE state = 'pending';
  CREATE INDEX outbox_leased ON outbox (lease_expires_ms) WHERE state = 'leased';
  CREATE INDEX outbox_patient_open ON outbox (route, patient, id) WHERE state IN ('held', 'pending', 'leased');
  CREATE INDEX outbox_unsent ON outbox (id) WHERE state IN ('held', 'pending', 'leased');
  CREATE INDEX outbox_delivered ON outbox (done_ms) WHERE state = 'delivered';
  CREATE INDEX outbox_dead ON outbox (id) WHERE state = 'dead';
  CREATE INDEX outbox_held ON outbox (reading_id) WHERE state = 'held';
  CREATE INDEX outbox_reading ON outbox (reading_id);
  CREATE INDEX outbox_ambiguous ON outbox (route, id) WHERE state = 'ambiguous';
  CREATE INDEX outbox_quarantined ON outbox (id) WHERE state = 'quarantined';
  `,
  // 4: outbox counts by route, state and the `ambiguous` flag ("may have reached PKB before"), kept in
  // `counters` (name `outbox|<route>|<state>|<flag>`) by triggers in the same transaction as every
  // insert, transition and delete, whoever makes it: stats() reads them instead of scanning the outbox.
  `
  INSERT INTO counters (name, value)
    SELECT 'outbox|' || route || '|' || state || '|' || ambiguous, count(*) FROM outbox GROUP BY route, state, ambiguous;

  CREATE TRIGGER outbox_count_insert AFTER INSERT ON outbox BEGIN
    INSERT INTO counters (name, value) VALUES ('outbox|' || NEW.route || '|' || NEW.state || '|' || NEW.ambiguous, 1)
      ON CONFLICT (name) DO UPDATE SET value = value + 1;
  END;

  CREATE TRIGGER outbox_count_delete AFTER DELETE ON outbox BEGIN
    UPDATE counters SET value = value - 1 WHERE name = 'outbox|' || OLD.route || '|' || OLD.state || '|' || OLD.ambiguous;
  END;

  CREATE TRIGGER outbox_count_update AFTER UPDATE OF route, state, ambiguous ON outbox
  WHEN OLD.route IS NOT NEW.route OR OLD.state IS NOT NEW.state OR OLD.ambiguous IS NOT NEW.ambiguous BEGIN
    UPDATE counters SET value = value - 1 WHERE name = 'outbox|' || OLD.route || '|' || OLD.state || '|' || OLD.ambiguous;
    INSERT INTO counters (name, value) VALUES ('outbox|' || NEW.route || '|' || NEW.state || '|' || NEW.ambiguous, 1)
      ON CONFLICT (name) DO UPDATE SET value = value + 1;
  END;
  `,
  // 5: HL7 retractions (issue 13). After an ORU^R01 whose fate is unknown, the ORU that retracts its
  // report id (OBR-25 = R) is stored here before it is sent, and re-sent byte for byte until PKB
  // acknowledges it; only then is the original re-sent. `state`: pending (to send, not before
  // `not_before_ms`, buffer time), acked (the original may go), resending (the original is on its
  // way: after a crash it may be in PKB again, so it is retracted anew), held (PKB refused the
  // retraction: a person decides). Goes with its message.
  `
  CREATE TABLE hl7_retractions (
    message_id INTEGER PRIMARY KEY REFERENCES hl7_messages(id) ON DELETE CASCADE,
    control_id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'acked', 'resending', 'held')),
    not_before_ms INTEGER NOT NULL,
    created_ms INTEGER NOT NULL
  ) STRICT;
  `,
];
