import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import type { HubBuffer } from "../../src/buffer/buffer.js";
import { Hl7MessageStore } from "../../src/forward/hl7/store.js";
import { bpReading, makeBuffer } from "../support/buffer.js";
import { tempDirPerTest } from "../support/per-test.js";

let buffer: HubBuffer | undefined;
const tmp = tempDirPerTest(() => {
  buffer?.close();
  buffer = undefined;
});

const NHS = "9434765919";
const NAME = "SMITHERS^ALICE";
const READING_MARK = "reading-note-XQ7Z";

/** Everything of the buffer on disk: the database file and its WAL. */
function rawBytes(dir: string): string {
  const file = join(dir, "buffer.db");
  const parts = [file, `${file}-wal`].filter((f) => statSync(f, { throwIfNoEntry: false }));
  return Buffer.concat(parts.map((f) => readFileSync(f))).toString("latin1");
}

describe("deleted PHI is not left readable in the file", () => {
  it("a sent HL7 message (name, NHS number) and pruned reading bodies leave no trace in the database file or its WAL", async () => {
    const made = makeBuffer(tmp.dir, { retentionMs: 1000 });
    buffer = made.buffer;
    const { clock } = made;
    const readings = Array.from({ length: 40 }, () => ({ ...bpReading(clock, undefined, "hl7-p") }));
    const marked = { ...(readings[7] as (typeof readings)[number]), note: READING_MARK };
    readings[7] = marked;
    await buffer.ingest(readings);
    const lease = buffer.outbox.claim("hl7", 100);
    const ids = lease.rows.map((r) => r.id);
    const store = new Hl7MessageStore(buffer.db);
    store.save(
      ids,
      "CTRL-1",
      `MSH|^~\\&|...\rPID|1||${NHS}^^^NHS^NH||${NAME}||19700101|F\rOBX|...`,
      clock.nowMs(),
    );
    expect(rawBytes(tmp.dir)).toContain(NHS);
    buffer.outbox.complete(lease.token, ids, { kind: "delivered" });
    store.forgetClosed(ids);
    clock.advance(2000);
    await buffer.housekeeping();
    expect(buffer.db.prepare("SELECT count(*) FROM readings WHERE body IS NOT NULL").pluck().get()).toBe(0);
    const raw = rawBytes(tmp.dir);
    expect(raw.includes(NHS)).toBe(false);
    expect(raw.includes(NAME)).toBe(false);
    expect(raw.includes(READING_MARK)).toBe(false);
    // The freed pages went back to the filesystem.
    expect(buffer.db.pragma("freelist_count", { simple: true })).toBe(0);
  });

  it("an HL7 message forgotten after 'patient not known' (store.forget, its rows still open) leaves no trace of its PHI in the file or its WAL", async () => {
    const made = makeBuffer(tmp.dir);
    buffer = made.buffer;
    const { clock } = made;
    await buffer.ingest(Array.from({ length: 5 }, () => bpReading(clock, undefined, "hl7-p")));
    const lease = buffer.outbox.claim("hl7", 100);
    const ids = lease.rows.map((r) => r.id);
    const store = new Hl7MessageStore(buffer.db);
    const msg = store.save(
      ids,
      "CTRL-2",
      `MSH|^~\\&|...\rPID|1||${NHS}^^^NHS^NH||${NAME}||19700101|F\rOBX|...`,
      clock.nowMs(),
    );
    expect(rawBytes(tmp.dir)).toContain(NHS);
    // What the forwarder does when PKB did not know a patient cached as known: the message goes, the rows retry.
    store.forget(msg.id);
    buffer.outbox.complete(lease.token, ids, { kind: "retry", error: "asking again (A19)", retryAfterMs: 0 });
    expect(store.forRow(ids[0] as number)).toBeUndefined();
    await buffer.housekeeping();
    expect(buffer.stats().unsent).toBe(5);
    const raw = rawBytes(tmp.dir);
    expect(raw.includes(NHS)).toBe(false);
    expect(raw.includes(NAME)).toBe(false);
  });

  it("a database made before incremental vacuum is converted once at open, keeping its rows", async () => {
    const file = join(tmp.dir, "buffer.db");
    const made = makeBuffer(tmp.dir);
    buffer = made.buffer;
    await buffer.ingest([bpReading(made.clock)]);
    buffer.close();
    buffer = undefined;
    const old = new Database(file);
    old.pragma("auto_vacuum = NONE");
    old.exec("VACUUM");
    expect(old.pragma("auto_vacuum", { simple: true })).toBe(0);
    old.close();
    ({ buffer } = makeBuffer(tmp.dir));
    expect(buffer.db.pragma("auto_vacuum", { simple: true })).toBe(2);
    expect(buffer.stats().unsent).toBe(1);
  });
});
