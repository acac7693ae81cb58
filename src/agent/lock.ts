import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { HubError } from "../core/errors.js";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** One agent per data directory: two would lease the same outbox rows and send readings twice. */
export function acquireLock(dataDir: string): () => void {
  const file = join(dataDir, "agent.lock");
  for (let i = 0; i < 2; i++) {
    try {
      const fd = openSync(file, "wx", 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const pid = Number(readFileSync(file, "utf8").trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new HubError("USAGE", `another agent (pid ${pid}) is running on ${dataDir}`);
      }
      rmSync(file, { force: true }); // stale lock from a crashed agent
    }
  }
  throw new HubError("USAGE", `cannot take the lock ${file}`);
}
