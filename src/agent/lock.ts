import { chmodSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { HubError, messageOf } from "../core/errors.js";
import { writeFileAtomic } from "../core/secrets.js";

/**
 * Locks this process holds (a second agent in one process is refused too), with their connections:
 * kept here so that a lock is never closed by the garbage collector while its holder runs.
 */
const held = new Map<string, Database.Database>();

/** The pid the holder wrote, for the message only (it may not be written yet). */
function holderPid(pidFile: string): string {
  try {
    return readFileSync(pidFile, "utf8").split(/\s/)[0] ?? "";
  } catch {
    return "";
  }
}

/**
 * How long a starting agent keeps trying while the lock file is busy. A running agent holds the lock
 * for its whole life, so a second agent is refused after this; another agent *starting* holds a lock
 * on the file only for a moment (it reads it as it opens it), and that must not make both refuse.
 */
export const LOCK_WAIT_MS = 500;

/** Blocks the thread for `ms` (start-up only: the agent does nothing else yet). */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Takes the kernel lock, or returns undefined when the file is busy (SQLITE_BUSY), with nothing held. */
function tryLock(file: string): Database.Database | undefined {
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { timeout: 0 });
    db.pragma("journal_mode = OFF");
    db.pragma("locking_mode = EXCLUSIVE");
    // The first write in exclusive locking mode takes the EXCLUSIVE lock and keeps it until close.
    db.exec("BEGIN EXCLUSIVE");
    db.exec("CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL)");
    db.exec("DELETE FROM holder");
    db.prepare("INSERT INTO holder (pid) VALUES (?)").run(process.pid);
    db.exec("COMMIT");
    return db;
  } catch (err) {
    // Closed at once, whatever the error: in exclusive locking mode a failed attempt keeps the
    // SHARED lock it took until close, which would in turn make the other starter fail.
    db?.close();
    if ((err as { code?: unknown }).code === "SQLITE_BUSY") return undefined;
    throw err;
  }
}

/**
 * One agent per data directory: two would lease the same outbox rows and send readings twice.
 *
 * The lock is a kernel lock (fcntl, through SQLite's exclusive locking mode) on `agent.lock.db`:
 * taking it is atomic, and the kernel drops it when the process dies however it dies, so there is
 * no stale lock to judge and no window in which two starting agents both take over a stale one.
 * A busy file is tried again (every few milliseconds, with jitter, each try from a closed connection)
 * for up to `waitMs`: two agents starting together each see the other's brief lock, and with a single
 * try both refused and none ran. Only a lock held that long is taken as another agent running.
 * The lock file is never deleted (deleting it would let a late opener lock an orphaned inode).
 * `agent.lock` beside it only names the holder's pid for the message; it is not the lock.
 */
export function acquireLock(dataDir: string, waitMs = LOCK_WAIT_MS): () => void {
  const file = resolve(join(dataDir, "agent.lock.db"));
  const pidFile = resolve(join(dataDir, "agent.lock"));
  if (held.has(file)) throw new HubError("USAGE", `an agent in this process already runs on ${dataDir}`);
  let db: Database.Database | undefined;
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const deadline = performance.now() + waitMs;
    db = tryLock(file);
    while (db === undefined && performance.now() < deadline) {
      sleepSync(2 + Math.random() * 8);
      db = tryLock(file);
    }
  } catch (err) {
    throw new HubError("USAGE", `cannot take the lock ${file}: ${messageOf(err)}`, { cause: err });
  }
  if (db === undefined) {
    const pid = holderPid(pidFile);
    throw new HubError(
      "USAGE",
      `another agent${/^\d+$/.test(pid) ? ` (pid ${pid})` : ""} is running on ${dataDir}`,
    );
  }
  // Every file in the data directory is the service user's alone, this one included.
  chmodSync(file, 0o600);
  held.set(file, db);
  writeFileAtomic(pidFile, `${process.pid}\n`);
  const lock = db;
  return () => {
    if (held.get(file) !== lock) return;
    held.delete(file);
    rmSync(pidFile, { force: true });
    lock.close();
  };
}
