import { readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  checkpoint,
  type Db,
  DEFAULT_WAL_LIMIT_BYTES,
  enableIncrementalVacuum,
  migrate,
  openDatabase,
  reclaimFreePages,
  translateSqliteError,
} from "../../src/buffer/db.js";
import { MIGRATIONS } from "../../src/buffer/migrations.js";
import { HubError } from "../../src/core/errors.js";
import { tempDir } from "../support/tmp.js";

let tmp: ReturnType<typeof tempDir>;
const open: Db[] = [];
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => {
  for (const db of open.splice(0)) if (db.open) db.close();
  tmp.cleanup();
});

function sqliteError(code: string, message = "boom"): Error {
  return Object.assign(new Error(message), { code });
}

const pragma = (db: Db, name: string) => db.pragma(name, { simple: true });

describe("translateSqliteError", () => {
  it("maps SQLite's codes to the hub's, keeping the cause", () => {
    const full = sqliteError("SQLITE_FULL");
    expect(translateSqliteError(full)).toMatchObject({
      code: "DISK_FULL",
      message: "storage is full: reading not stored",
      cause: full,
    });
    expect(translateSqliteError(sqliteError("SQLITE_IOERR_WRITE"))).toMatchObject({
      code: "STORAGE_IO",
      message: "storage I/O error (SQLITE_IOERR_WRITE)",
    });
    expect(translateSqliteError(sqliteError("SQLITE_IOERR"))).toMatchObject({ code: "STORAGE_IO" });
    for (const code of ["SQLITE_IOERR_READ", "SQLITE_CORRUPT", "SQLITE_NOTADB", "SQLITE_MISUSE"]) {
      const err = sqliteError(code);
      expect(translateSqliteError(err).cause).toBe(err);
    }
    expect(translateSqliteError(sqliteError("SQLITE_CORRUPT"))).toMatchObject({
      code: "BUFFER_CORRUPT",
      message: "buffer database is corrupt (SQLITE_CORRUPT)",
    });
    expect(translateSqliteError(sqliteError("SQLITE_NOTADB"))).toMatchObject({
      code: "BUFFER_CORRUPT",
      message: "buffer database is corrupt (SQLITE_NOTADB)",
    });
    expect(translateSqliteError(sqliteError("SQLITE_CONSTRAINT", "no"))).toMatchObject({
      code: "INTERNAL",
      message: "buffer error: no",
    });
    expect(translateSqliteError(sqliteError("NOT_SQLITE_IOERR"))).toMatchObject({ code: "INTERNAL" });
    expect(translateSqliteError(Object.assign(new Error("n"), { code: 7 }))).toMatchObject({
      code: "INTERNAL",
    });
  });

  it("passes a HubError through unchanged", () => {
    const e = new HubError("BUFFER_FULL", "full");
    expect(translateSqliteError(e)).toBe(e);
  });
});

describe("openDatabase", () => {
  it("creates the directory 0700 and the files 0600, configured for durability, zeroed deletes and a bounded WAL", () => {
    const file = join(tmp.dir, "new", "buffer.db");
    const { db, corruptMovedTo, salvage, repaired } = openDatabase(file, { walLimitBytes: 256 * 1024 });
    open.push(db);
    expect([corruptMovedTo, salvage, repaired]).toEqual([undefined, undefined, undefined]);
    expect(statSync(join(tmp.dir, "new")).mode & 0o777).toBe(0o700);
    for (const f of readdirSync(join(tmp.dir, "new")))
      expect(statSync(join(tmp.dir, "new", f)).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(tmp.dir, "new")).sort()).toEqual(["buffer.db", "buffer.db-shm", "buffer.db-wal"]);
    expect(pragma(db, "journal_mode")).toBe("wal");
    expect(pragma(db, "synchronous")).toBe(2);
    expect(pragma(db, "busy_timeout")).toBe(5000);
    expect(pragma(db, "foreign_keys")).toBe(1);
    expect(pragma(db, "temp_store")).toBe(2);
    expect(pragma(db, "secure_delete")).toBe(1);
    expect(pragma(db, "auto_vacuum")).toBe(2);
    expect(pragma(db, "journal_size_limit")).toBe(256 * 1024);
    expect(pragma(db, "wal_autocheckpoint")).toBe(32);
    expect(pragma(db, "user_version")).toBe(MIGRATIONS.length);
  });

  it("bounds SQLite's page cache to 2 MiB (better-sqlite3's build default of 16 MiB grew a 30-minute soak's RSS as the buffer grew)", () => {
    const { db } = openDatabase(join(tmp.dir, "cache.db"));
    open.push(db);
    expect(pragma(db, "cache_size")).toBe(-2000);
  });

  it("defaults to a 4 MiB WAL bound and never checkpoints more often than every 8 pages", () => {
    const a = openDatabase(join(tmp.dir, "a.db")).db;
    const b = openDatabase(join(tmp.dir, "b.db"), { walLimitBytes: 4096 }).db;
    open.push(a, b);
    expect(DEFAULT_WAL_LIMIT_BYTES).toBe(4 * 1024 * 1024);
    expect(pragma(a, "journal_size_limit")).toBe(DEFAULT_WAL_LIMIT_BYTES);
    expect(pragma(a, "wal_autocheckpoint")).toBe(512);
    expect(pragma(b, "wal_autocheckpoint")).toBe(8);
  });

  it("a file that is not a database is moved aside, stamped with the time; a fresh one is started", () => {
    const file = join(tmp.dir, "buffer.db");
    writeFileSync(file, Buffer.alloc(8192, 0x5a));
    const { db, corruptMovedTo, salvage } = openDatabase(file, { nowMs: 1234 });
    open.push(db);
    expect(corruptMovedTo).toBe(`${file}.corrupt-1234`);
    expect(salvage).toMatchObject({
      unsent: 0,
      rebuilt: 0,
      problem: "the damaged file's schema cannot be read",
    });
    expect(readdirSync(tmp.dir).sort()).toEqual([
      "buffer.db",
      "buffer.db-shm",
      "buffer.db-wal",
      "buffer.db.corrupt-1234",
    ]);
    expect(pragma(db, "user_version")).toBe(MIGRATIONS.length);
  });
});

describe("migrate", () => {
  it("applies the missing steps up to a target, each recorded in user_version, and never goes back", () => {
    const db = new Database(":memory:");
    open.push(db);
    expect(migrate(db, 1)).toBe(1);
    expect(pragma(db, "user_version")).toBe(1);
    expect(db.prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'hl7_messages'").pluck().get()).toBe(
      0,
    );
    expect(migrate(db)).toBe(MIGRATIONS.length);
    expect(pragma(db, "user_version")).toBe(MIGRATIONS.length);
    expect(migrate(db, 1)).toBe(MIGRATIONS.length);
    expect(pragma(db, "user_version")).toBe(MIGRATIONS.length);
    expect(pragma(db, "foreign_keys")).toBe(1);
  });

  it("a database from a newer agent is BUFFER_TOO_NEW", () => {
    const db = new Database(":memory:");
    open.push(db);
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    expect(() => migrate(db)).toThrow(expect.objectContaining({ code: "BUFFER_TOO_NEW" }));
  });
});

describe("checkpoint and free pages", () => {
  it("a TRUNCATE checkpoint empties the WAL file; a reader holding a snapshot makes it report not done", () => {
    const file = join(tmp.dir, "buffer.db");
    const { db } = openDatabase(file);
    open.push(db);
    db.exec("CREATE TABLE t (x TEXT)");
    db.prepare("INSERT INTO t VALUES (?)").run("x".repeat(10_000));
    expect(statSync(`${file}-wal`).size).toBeGreaterThan(0);
    expect(checkpoint(db)).toBe(true);
    expect(statSync(`${file}-wal`).size).toBe(0);
    const reader = new Database(file);
    open.push(reader);
    reader.exec("BEGIN");
    reader.prepare("SELECT count(*) FROM t").get();
    db.prepare("INSERT INTO t VALUES (?)").run("y");
    expect(checkpoint(db, "TRUNCATE")).toBe(false);
    expect(checkpoint(db, "PASSIVE")).toBe(false);
    reader.exec("COMMIT");
    expect(checkpoint(db, "PASSIVE")).toBe(true);
    // A reader whose snapshot has every frame lets them all be copied, yet the WAL cannot be reset.
    db.prepare("INSERT INTO t VALUES (?)").run("z");
    reader.exec("BEGIN");
    reader.prepare("SELECT count(*) FROM t").get();
    expect(checkpoint(db, "TRUNCATE")).toBe(false);
    reader.exec("COMMIT");
    // It never waits for the reader, and leaves the connection's own busy timeout as it was.
    expect(pragma(db, "busy_timeout")).toBe(5000);
    db.close();
    expect(checkpoint(db)).toBe(false);
  });

  it("reclaimFreePages gives back at most the pages it is allowed, and truncates the WAL", () => {
    const file = join(tmp.dir, "buffer.db");
    const { db } = openDatabase(file);
    open.push(db);
    db.exec("CREATE TABLE t (x TEXT)");
    for (let i = 0; i < 30; i++) db.prepare("INSERT INTO t VALUES (?)").run("z".repeat(8000));
    db.exec("DELETE FROM t");
    const free = pragma(db, "freelist_count") as number;
    expect(free).toBeGreaterThan(20);
    expect(reclaimFreePages(db, 5)).toBe(5);
    expect(pragma(db, "freelist_count")).toBe(free - 5);
    expect(statSync(`${file}-wal`).size).toBe(0);
    expect(reclaimFreePages(db)).toBe(free - 5);
    expect(pragma(db, "freelist_count")).toBe(0);
    expect(reclaimFreePages(db)).toBe(0);
  });

  it("enableIncrementalVacuum converts an older file once, and leaves temp_store in memory even when VACUUM cannot run", () => {
    const file = join(tmp.dir, "old.db");
    const old = new Database(file);
    old.exec("CREATE TABLE t (x INTEGER)");
    old.exec("INSERT INTO t VALUES (1)");
    expect(pragma(old, "auto_vacuum")).toBe(0);
    old.exec("BEGIN"); // VACUUM cannot run inside a transaction
    expect(enableIncrementalVacuum(old)).toBe(false);
    expect(pragma(old, "temp_store")).toBe(2);
    old.exec("COMMIT");
    expect(enableIncrementalVacuum(old)).toBe(true);
    expect(pragma(old, "auto_vacuum")).toBe(2);
    expect(pragma(old, "temp_store")).toBe(2);
    expect(old.prepare("SELECT x FROM t").pluck().all()).toEqual([1]);
    expect(enableIncrementalVacuum(old)).toBe(true);
    old.close();
  });
});
