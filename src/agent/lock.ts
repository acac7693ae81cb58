import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { join, resolve } from "node:path";
import { bootId } from "../core/clock.js";
import { HubError } from "../core/errors.js";

/** Locks this process holds (a second agent in one process is refused too). */
const held = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * The lock file holds "<pid> <boot id>". It is stale when written in an earlier boot (a Pi that
 * lost power may give the new agent the very same pid) or when that process is gone.
 */
function stale(text: string): boolean {
  const [pidText, boot] = text.trim().split(/\s+/);
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0 || boot !== bootId()) return true;
  return pid !== process.pid && !alive(pid);
}

/** One agent per data directory: two would lease the same outbox rows and send readings twice. */
export function acquireLock(dataDir: string): () => void {
  const file = resolve(join(dataDir, "agent.lock"));
  if (held.has(file)) throw new HubError("USAGE", `an agent in this process already runs on ${dataDir}`);
  for (let i = 0; i < 2; i++) {
    try {
      const fd = openSync(file, "wx", 0o600);
      writeSync(fd, `${process.pid} ${bootId()}\n`);
      closeSync(fd);
      held.add(file);
      return () => {
        held.delete(file);
        rmSync(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const text = readFileSync(file, "utf8");
      if (!stale(text)) {
        throw new HubError("USAGE", `another agent (pid ${text.split(" ")[0]}) is running on ${dataDir}`);
      }
      rmSync(file, { force: true });
    }
  }
  throw new HubError("USAGE", `cannot take the lock ${file}`);
}
