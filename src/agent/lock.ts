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
 * One agent per data directory: two would lease the same outbox rows and send readings twice.
 *
 * The lock is a kernel lock (fcntl, through SQLite's exclusive locking mode) on `agent.lock.db`:
 * taking it is atomic, and the kernel drops it when the process dies however it dies, so there is
 * no stale lock to judge and no window in which two starting agents both take over a stale one.
 * The lock file is never deleted (deleting it would let a late opener lock an orphaned inode).
 * `agent.lock` beside it only names the holder's pid for the message; it is not the lock.
 */
export function acquireLock(dataDir: string): () => void {
  const file = resolve(join(dataDir, "agent.lock.db"));
  const pidFile = resolve(join(dataDir, "agent.lock"));
  if (held.has(file)) throw new HubError("USAGE", `an agent in this process already runs on ${dataDir}`);
  let db: Database.Database | undefined;
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    db = new Database(file, { timeout: 0 });
    db.pragma("journal_mode = OFF");
    db.pragma("locking_mode = EXCLUSIVE");
    // The first write in exclusive locking mode takes the EXCLUSIVE lock and keeps it until close.
    db.exec("BEGIN EXCLUSIVE");
    db.exec("CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL)");
    db.exec("DELETE FROM holder");
    db.prepare("INSERT INTO holder (pid) VALUES (?)").run(process.pid);
    db.exec("COMMIT");
  } catch (err) {
    db?.close();
    if ((err as { code?: unknown }).code === "SQLITE_BUSY") {
      const pid = holderPid(pidFile);
      throw new HubError(
        "USAGE",
        `another agent${/^\d+$/.test(pid) ? ` (pid ${pid})` : ""} is running on ${dataDir}`,
      );
    }
    throw new HubError("USAGE", `cannot take the lock ${file}: ${messageOf(err)}`, { cause: err });
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
