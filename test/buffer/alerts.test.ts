import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Alert, Alerts } from "../../src/buffer/alerts.js";
import { type Db, openDatabase } from "../../src/buffer/db.js";
import { tempDir } from "../support/tmp.js";

let tmp: ReturnType<typeof tempDir>;
let db: Db;
let events: Array<[string, string, number, boolean]>;
const listener = (a: Alert, active: boolean) => events.push([a.code, a.message, a.raisedMs, active]);
const stored = () => db.prepare("SELECT code, message, raised_ms FROM alerts ORDER BY code").all();

beforeEach(() => {
  tmp = tempDir();
  db = openDatabase(join(tmp.dir, "buffer.db")).db;
  events = [];
});
afterEach(() => {
  if (db.open) db.close();
  tmp.cleanup();
});

describe("alerts", () => {
  it("raise keeps the alert in memory and in the database and tells the listener once", () => {
    const alerts = new Alerts(db, listener);
    alerts.raise("DISK_FULL", "the disk is full", 1000);
    alerts.raise("DISK_FULL", "the disk is full", 2000);
    expect(events).toEqual([["DISK_FULL", "the disk is full", 1000, true]]);
    expect(alerts.has("DISK_FULL")).toBe(true);
    expect(alerts.has("BUFFER_FULL")).toBe(false);
    expect(alerts.list()).toEqual([{ code: "DISK_FULL", message: "the disk is full", raisedMs: 1000 }]);
    expect(stored()).toEqual([{ code: "DISK_FULL", message: "the disk is full", raised_ms: 1000 }]);
  });

  it("an alert whose message changes is raised again but keeps the time it was first raised, also after a restart", () => {
    const alerts = new Alerts(db, listener);
    alerts.raise("AMBIGUOUS_DELIVERY", "1 delivery", 1000);
    alerts.raise("AMBIGUOUS_DELIVERY", "2 deliveries", 5000);
    expect(events).toEqual([
      ["AMBIGUOUS_DELIVERY", "1 delivery", 1000, true],
      ["AMBIGUOUS_DELIVERY", "2 deliveries", 1000, true],
    ]);
    expect(stored()).toEqual([{ code: "AMBIGUOUS_DELIVERY", message: "2 deliveries", raised_ms: 1000 }]);
    expect(new Alerts(db).list()).toEqual(alerts.list());
  });

  it("clear removes it from memory and the database and tells the listener; clearing an inactive code does nothing", () => {
    const alerts = new Alerts(db, listener);
    alerts.raise("BUFFER_FULL", "full", 10);
    alerts.raise("DISK_FULL", "disk", 20);
    alerts.clear("BUFFER_FULL");
    alerts.clear("BUFFER_FULL");
    alerts.clear("NEVER_RAISED");
    expect(events).toEqual([
      ["BUFFER_FULL", "full", 10, true],
      ["DISK_FULL", "disk", 20, true],
      ["BUFFER_FULL", "full", 10, false],
    ]);
    expect(alerts.list().map((a) => a.code)).toEqual(["DISK_FULL"]);
    expect(stored()).toEqual([{ code: "DISK_FULL", message: "disk", raised_ms: 20 }]);
  });

  it("alerts raised before a restart are active again after it", () => {
    new Alerts(db).raise("STORAGE_IO", "I/O error", 42);
    const again = new Alerts(db, listener);
    expect(again.list()).toEqual([{ code: "STORAGE_IO", message: "I/O error", raisedMs: 42 }]);
    expect(again.has("STORAGE_IO")).toBe(true);
    expect(events).toEqual([]);
  });

  it("when the database cannot be written (a full disk) alerts still live in memory and reach the listener", () => {
    new Alerts(db).raise("KEPT", "from before", 1);
    db.close();
    db = new Database(join(tmp.dir, "buffer.db"), { readonly: true });
    const alerts = new Alerts(db, listener);
    alerts.raise("DISK_FULL", "the disk is full", 7);
    alerts.clear("KEPT");
    expect(alerts.list()).toEqual([{ code: "DISK_FULL", message: "the disk is full", raisedMs: 7 }]);
    expect(events).toEqual([
      ["DISK_FULL", "the disk is full", 7, true],
      ["KEPT", "from before", 1, false],
    ]);
    expect(stored()).toEqual([{ code: "KEPT", message: "from before", raised_ms: 1 }]);
  });

  it("without a listener raising and clearing still work", () => {
    const alerts = new Alerts(db);
    alerts.raise("X", "x", 1);
    alerts.clear("X");
    expect(alerts.list()).toEqual([]);
  });
});
