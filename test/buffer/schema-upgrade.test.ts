import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import type { HubBuffer } from "../../src/buffer/buffer.js";
import { migrate } from "../../src/buffer/db.js";
import { MIGRATIONS } from "../../src/buffer/migrations.js";
import { FakeClock } from "../../src/core/clock.js";
import type { Reading } from "../../src/core/reading.js";
import { Hl7MessageStore } from "../../src/forward/hl7/store.js";
import { bpReading, makeBuffer } from "../support/buffer.js";
import { tempDirPerTest } from "../support/per-test.js";

/**
 * Migrations are forward-only and must carry every row of every earlier schema. For each version
 * v before the latest, a database is built with MIGRATIONS up to v, filled with rows of every kind
 * that schema can hold, and then opened with the current code: every row must survive and still
 * be usable (claimed, delivered, re-timed, settled). A new migration is covered automatically; it
 * only needs a fixture for its own version (so that the one after it is tested from there).
 */

let buffer: HubBuffer | undefined;
const tmp = tempDirPerTest(() => {
  buffer?.close();
  buffer = undefined;
});

type Db = Database.Database;
type Row = Record<string, string | number | null>;

/** What a fixture wrote, and what each outbox row must be once opened and its leases reclaimed. */
interface Written {
  readings: Reading[];
  /** outbox id → state expected after open + reclaimAll (a leased row comes back pending). */
  states: Map<number, string>;
  /** outbox ids that a claim on their route must return, per route. */
  claimable: Record<string, number[]>;
  /** outbox id of the held reading (released once the clock is synchronised). */
  held: number;
  /** outbox id whose HL7 message must still be found, with that message's body. */
  hl7?: { outboxId: number; body: string };
  ambiguous?: number;
  deadReason: { id: number; reason: string };
}

const NOW = Date.UTC(2026, 10, 24, 12, 0, 0);

function insert(db: Db, table: string, row: Row): number {
  const cols = Object.keys(row);
  const sql = `INSERT INTO ${table} (${cols.join(", ")}) VALUES (${cols.map((c) => `@${c}`).join(", ")})`;
  return Number(db.prepare(sql).run(row).lastInsertRowid);
}

function readingRow(r: Reading, clock: FakeClock, body = true): Row {
  const held = r.timeSource === "hub-unsynced";
  return {
    key: r.key,
    patient: r.patient,
    device_id: r.deviceId,
    kind: r.kind,
    measured_at: r.measuredAt,
    time_source: r.timeSource,
    boot_id: held ? clock.bootId : null,
    mono_ms: held ? clock.monotonicMs() : null,
    body: body ? JSON.stringify(r) : null,
    created_ms: NOW,
  };
}

/** Rows every schema since version 1 can hold, written in that schema's own shape. */
function commonRows(db: Db, clock: FakeClock, reasonColumn: "dead_reason" | "reason"): Written {
  const readings: Reading[] = [];
  const states = new Map<number, string>();
  const claimable: Record<string, number[]> = { "pkb-rest": [], hl7: [] };
  const add = (r: Reading, outbox: Row | undefined, body = true): number | undefined => {
    readings.push(r);
    const readingId = insert(db, "readings", readingRow(r, clock, body));
    if (!outbox) return undefined;
    const base = { reading_id: readingId, patient: r.patient, available_ms: NOW, created_ms: NOW };
    return insert(db, "outbox", { ...base, route: "pkb-rest", ...outbox });
  };
  const pending = add(bpReading(clock, 1001), { state: "pending" }) as number;
  states.set(pending, "pending");
  claimable["pkb-rest"]?.push(pending);
  const leased = add(bpReading(clock, 1002), {
    state: "leased",
    lease_token: "old-run",
    lease_expires_ms: NOW + 60_000,
    attempts: 1,
  }) as number;
  states.set(leased, "pending");
  claimable["pkb-rest"]?.push(leased);
  const delivered = add(bpReading(clock, 1003), { state: "delivered", done_ms: NOW }) as number;
  states.set(delivered, "delivered");
  add(bpReading(clock, 1004), undefined, false); // delivered long ago and pruned: only its key is left
  const dead = add(bpReading(clock, 1005), {
    state: "dead",
    attempts: 5,
    done_ms: NOW,
    [reasonColumn]: "rejected: test reason",
  }) as number;
  states.set(dead, "dead");
  clock.synced = false;
  const held = add(bpReading(clock, 1006), { state: "held" }) as number;
  clock.synced = true;
  states.set(held, "held");
  const hl7 = add(bpReading(clock, 1007, "hl7-p"), { state: "pending", route: "hl7" }) as number;
  states.set(hl7, "pending");
  claimable.hl7?.push(hl7);
  const docId = insert(db, "documents", {
    key: "doc-1",
    patient: "hl7-p",
    kind: "pdf",
    body: JSON.stringify({ key: "doc-1", patient: "hl7-p", kind: "pdf", title: "report" }),
    created_ms: NOW,
  });
  const doc = insert(db, "outbox", {
    document_id: docId,
    route: "hl7",
    patient: "hl7-p",
    state: "pending",
    available_ms: NOW,
    created_ms: NOW,
  });
  states.set(doc, "pending");
  claimable.hl7?.push(doc);
  insert(db, "counters", { name: "duplicates", value: 3 });
  insert(db, "alerts", { code: "DEVICE_SILENT", message: "dev-1 silent", raised_ms: NOW });
  insert(db, "kv", { k: "route-state", v: "kept", updated_ms: NOW });
  return { readings, states, claimable, held, deadReason: { id: dead, reason: "rejected: test reason" } };
}

function hl7Rows(db: Db, w: Written): Written {
  const outboxId = w.claimable.hl7?.[0] as number;
  const body = "MSH|^~\\&|PKB-HUB|...\rPID|1||9434765919^^^NHS^NH||SMITHERS^ALICE\r";
  const messageId = insert(db, "hl7_messages", { control_id: "CTRL-1", body, created_ms: NOW });
  insert(db, "hl7_message_rows", { outbox_id: outboxId, message_id: messageId });
  return { ...w, hl7: { outboxId, body } };
}

/** Per schema version: fill a database at that version. Add one with every new migration. */
const FIXTURES: Record<number, (db: Db, clock: FakeClock) => Written> = {
  1: (db, clock) => commonRows(db, clock, "dead_reason"),
  2: (db, clock) => hl7Rows(db, commonRows(db, clock, "dead_reason")),
  3: (db, clock) => {
    const w = hl7Rows(db, commonRows(db, clock, "reason"));
    const r = bpReading(clock, 1008);
    const readingId = insert(db, "readings", readingRow(r, clock));
    const ambiguous = insert(db, "outbox", {
      reading_id: readingId,
      route: "pkb-rest",
      patient: r.patient,
      state: "ambiguous",
      ambiguous: 1,
      reason: "no answer",
      available_ms: NOW,
      created_ms: NOW,
    });
    const q = bpReading(clock, 1009);
    const quarantined = insert(db, "outbox", {
      reading_id: insert(db, "readings", readingRow(q, clock)),
      route: "pkb-rest",
      patient: q.patient,
      state: "quarantined",
      reason: "impossible value",
      available_ms: NOW,
      created_ms: NOW,
    });
    w.readings.push(r, q);
    w.states.set(ambiguous, "ambiguous");
    w.states.set(quarantined, "quarantined");
    return { ...w, ambiguous };
  },
  // 4 adds outbox counts kept by triggers: the rows are those of 3 (the triggers count them as written).
  4: (db, clock) => (FIXTURES[3] as (db: Db, clock: FakeClock) => Written)(db, clock),
};
// 4: outbox counts kept in `counters` by triggers; the rows themselves are written as at version 3.
FIXTURES[4] = FIXTURES[3] as (db: Db, clock: FakeClock) => Written;
// 5: the stored retraction (OBR-25 R) of an HL7 message whose fate is unknown.
FIXTURES[5] = (db, clock) => {
  const w = (FIXTURES[4] as (db: Db, clock: FakeClock) => Written)(db, clock);
  const messageId = db.prepare("SELECT id FROM hl7_messages WHERE control_id = 'CTRL-1'").pluck().get();
  insert(db, "hl7_retractions", {
    message_id: messageId as number,
    control_id: "RETR-1",
    body: "MSH|^~\\&|PKB-HUB|...\rOBR|1||rep-1|||||||||||||||||||||||R",
    state: "pending",
    not_before_ms: NOW,
    created_ms: NOW,
  });
  return w;
};

function buildAt(version: number, clock: FakeClock): Written {
  const db = new Database(join(tmp.dir, "buffer.db"));
  db.pragma("journal_mode = WAL");
  migrate(db, version);
  expect(db.pragma("user_version", { simple: true })).toBe(version);
  const fixture = FIXTURES[version];
  if (!fixture) throw new Error(`no fixture for schema version ${version}: add one to FIXTURES`);
  const written = db.transaction(() => fixture(db, clock))();
  db.close();
  return written;
}

function claimIds(b: HubBuffer, route: string): number[] {
  const lease = b.outbox.claim(route, 100);
  expect(
    b.outbox.complete(
      lease.token,
      lease.rows.map((r) => r.id),
      { kind: "delivered" },
    ),
  ).toBe(lease.rows.length);
  return lease.rows.map((r) => r.id);
}

describe("migrations", () => {
  it("every schema version up to the latest has a fixture, so the next migration is tested from it", () => {
    const versions = Array.from({ length: MIGRATIONS.length }, (_, i) => i + 1);
    expect(versions.filter((v) => FIXTURES[v] === undefined)).toEqual([]);
  });

  // The latest version too: its fixture must fit the schema it is written for.
  for (let version = 1; version <= MIGRATIONS.length; version++) {
    it(`a buffer at schema version ${version} with data in it opens with the current code, every row kept and usable`, async () => {
      const clock = new FakeClock();
      const w = buildAt(version, clock);
      ({ buffer } = makeBuffer(tmp.dir, { clock }));
      const b = buffer;
      expect(b.db.pragma("user_version", { simple: true })).toBe(MIGRATIONS.length);
      expect(b.db.pragma("foreign_key_check")).toEqual([]);
      expect(b.db.pragma("integrity_check", { simple: true })).toBe("ok");
      // Every reading kept with its key: a device re-sending any of them is a duplicate.
      expect(await b.ingest(w.readings)).toMatchObject({ stored: 0, duplicates: w.readings.length });
      b.outbox.reclaimAll();
      const states = b.db.prepare("SELECT id, state FROM outbox").all() as Array<{
        id: number;
        state: string;
      }>;
      expect(new Map(states.map((s) => [s.id, s.state]))).toEqual(w.states);
      // The HL7 message of a row is still the one that will be re-sent byte for byte.
      if (w.hl7) expect(new Hl7MessageStore(b.db).forRow(w.hl7.outboxId)?.body).toBe(w.hl7.body);
      // Claimable and deliverable, bodies intact.
      for (const [route, ids] of Object.entries(w.claimable)) {
        expect(claimIds(b, route).sort((x, y) => x - y)).toEqual([...ids].sort((x, y) => x - y));
      }
      // The held reading is re-timed and released once the clock is synchronised, then delivered.
      await b.releaseHeld();
      expect(claimIds(b, "pkb-rest")).toEqual([w.held]);
      // A dead letter keeps its reason and can be re-queued by hand.
      expect(b.outbox.deadLetters().map((d) => [d.id, d.reason])).toEqual([
        [w.deadReason.id, w.deadReason.reason],
      ]);
      expect(b.outbox.retryDead({ id: w.deadReason.id })).toBe(1);
      expect(claimIds(b, "pkb-rest")).toEqual([w.deadReason.id]);
      expect(b.kvGet("route-state")).toBe("kept");
      expect(b.stats().duplicates).toBe(3 + w.readings.length);
      expect(b.activeAlerts().map((a) => a.code)).toContain("DEVICE_SILENT");
      // An ambiguous row waits for a person, who can settle it.
      if (w.ambiguous !== undefined) {
        b.outbox.resolveAmbiguous(w.ambiguous, "resend");
        expect(claimIds(b, "pkb-rest")).toEqual([w.ambiguous]);
      }
    });
  }

  it("a buffer written by a newer agent is refused with a clear error and left untouched", () => {
    const file = join(tmp.dir, "buffer.db");
    const db = new Database(file);
    db.exec("CREATE TABLE future (x INTEGER) STRICT");
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    expect(() => makeBuffer(tmp.dir)).toThrow(
      expect.objectContaining({
        code: "BUFFER_TOO_NEW",
        message: expect.stringMatching(
          new RegExp(
            `schema version ${MIGRATIONS.length + 1} .*newer than this agent \\(${MIGRATIONS.length}\\)`,
          ),
        ),
      }),
    );
    const after = new Database(file, { readonly: true });
    expect(after.pragma("user_version", { simple: true })).toBe(MIGRATIONS.length + 1);
    expect(after.prepare("SELECT name FROM sqlite_schema").pluck().all()).toEqual(["future"]);
    after.close();
  });
});
