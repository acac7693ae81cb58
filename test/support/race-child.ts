/**
 * A child process for the race tests: at each of `rounds` shared start instants it either takes
 * the agent lock on `<base>/<round>` (printing `REF <round>`, or `ACQ <round> <acquired> <released>`
 * after holding a won lock for most of the round) or opens the secret box there and prints `SEALED <round> <sealed>`.
 * Usage: race-child.js lock|key <base> <rounds> <intervalMs> (prints READY, then reads the first
 * start instant, epoch ms, from stdin); race-child.js hold <dataDir>
 * takes the lock once and keeps it until killed.
 */
import { join } from "node:path";
import { acquireLock } from "../../src/agent/lock.js";
import { SecretBox } from "../../src/core/secrets.js";

const [mode, base, roundsText, intervalText] = process.argv.slice(2);
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

const startAt = mode === "hold" ? 0 : await startInstant();
for (let round = 0; mode !== "hold" && round < rounds; round++) {
  const at = startAt + round * interval;
  await until(at);
  const dir = join(base as string, String(round));
  if (mode === "lock") {
    let release: (() => void) | undefined;
    let acquiredAt = 0;
    try {
      release = acquireLock(dir);
      acquiredAt = now();
    } catch {
      process.stdout.write(`REF ${round}\n`);
    }
    if (release) {
      await until(at + interval * 0.7);
      // Noted before releasing, and the acquisition after acquiring: two holders overlap for real
      // only if one acquired before the other released.
      process.stdout.write(`ACQ ${round} ${acquiredAt} ${now()}\n`);
      release();
    }
  } else {
    const sealed = SecretBox.open(dir, {}).seal(`secret-${round}-${process.pid}`);
    process.stdout.write(`SEALED ${round} ${sealed}\n`);
  }
}
