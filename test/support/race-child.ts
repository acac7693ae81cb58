/**
 * A child process for the race tests: at each of `rounds` shared start instants it either takes
 * the agent lock on `<base>/<round>` (printing `REF <round> <tried>` or `ACQ <round> <tried> <acquired>`,
 * a won lock kept until the last round is over), waiting up to <waitMs> for a busy lock file, or opens
 * the secret box there and prints `SEALED <round> <sealed>`.
 * Usage: race-child.js lock|key <base> <rounds> <intervalMs> [waitMs] (prints READY, then reads the first
 * start instant, epoch ms, from stdin); race-child.js hold <dataDir>
 * takes the lock once and keeps it until killed; race-child.js shared <dataDir> <ms> reads the lock
 * file in a transaction (a SHARED lock, as another agent starting up takes for a moment), prints
 * SHARED and lets go after <ms>.
 */
import { join } from "node:path";
import Database from "better-sqlite3";
import { acquireLock } from "../../src/agent/lock.js";
import { SecretBox } from "../../src/core/secrets.js";

const [mode, base, roundsText, intervalText, waitText] = process.argv.slice(2);
const holding: Array<() => void> = [];
const rounds = Number(roundsText);
const interval = Number(intervalText);

/** Says READY, then waits for the shared start instant on stdin (sent once every child is ready). */
async function startInstant(): Promise<number> {
  process.stdout.write("READY\n");
  let text = "";
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (text.includes("\n")) break;
  }
  return Number(text.trim());
}

const now = (): number => performance.timeOrigin + performance.now();

async function until(t: number): Promise<void> {
  const wait = t - Date.now() - 5;
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  while (Date.now() < t) {
    // spin the last few milliseconds so that every child starts together
  }
}

if (mode === "hold") {
  // Takes the lock and keeps it until killed, without keeping the release function: the lock must
  // survive a garbage collection (run with --expose-gc).
  acquireLock(base as string);
  (globalThis as { gc?: () => void }).gc?.();
  process.stdout.write("ACQ\n");
  setInterval(() => {}, 60_000);
}

if (mode === "shared") {
  const db = new Database(join(base as string, "agent.lock.db"));
  db.exec("BEGIN");
  db.prepare("SELECT count(*) FROM sqlite_master").get();
  process.stdout.write("SHARED\n");
  setTimeout(() => {
    db.exec("COMMIT");
    db.close();
  }, Number(roundsText));
}

const startAt = mode === "hold" || mode === "shared" ? 0 : await startInstant();
for (let round = 0; mode !== "hold" && mode !== "shared" && round < rounds; round++) {
  const at = startAt + round * interval;
  await until(at);
  const dir = join(base as string, String(round));
  if (mode === "lock") {
    // As a real agent does, a winner keeps its lock (until every round is over): a child coming late
    // to the round must be refused, so each round has exactly one holder.
    const triedAt = now();
    try {
      holding.push(acquireLock(dir, Number(waitText)));
      process.stdout.write(`ACQ ${round} ${triedAt} ${now()}\n`);
    } catch {
      process.stdout.write(`REF ${round} ${triedAt}\n`);
    }
  } else {
    const sealed = SecretBox.open(dir, {}).seal(`secret-${round}-${process.pid}`);
    process.stdout.write(`SEALED ${round} ${sealed}\n`);
  }
}
// Every child's last try is over (a late one may still be waiting for the lock) before any is let go.
if (holding.length > 0) await until(startAt + rounds * interval + 4 * Number(waitText));
for (const release of holding) release();
