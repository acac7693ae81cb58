import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { bootId } from "../../src/core/clock.js";
import { SecretBox } from "../../src/core/secrets.js";
import { tempDir } from "../support/tmp.js";

const CHILD = join(import.meta.dirname, "../../dist/test/support/race-child.js");
const PROCESSES = 4;
const ROUNDS = 30;
const INTERVAL_MS = 80;

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir("pkb-hub-race-");
});
afterEach(() => tmp.cleanup());

/** Starts PROCESSES children that act together at each of ROUNDS instants; returns their output lines. */
async function race(mode: "lock" | "key"): Promise<string[]> {
  // Far enough ahead that every child has started (node start-up on a busy machine).
  const startAt = Date.now() + 3000;
  const runs = Array.from(
    { length: PROCESSES },
    () =>
      new Promise<string[]>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          [CHILD, mode, tmp.dir, String(startAt), String(ROUNDS), String(INTERVAL_MS)],
          { stdio: ["ignore", "pipe", "pipe"] },
        );
        let out = "";
        let err = "";
        child.stdout.on("data", (c: Buffer) => {
          out += c.toString();
        });
        child.stderr.on("data", (c: Buffer) => {
          err += c.toString();
        });
        child.on("exit", (code) =>
          code === 0 ? resolve(out.trim().split("\n")) : reject(new Error(`child failed: ${err}`)),
        );
      }),
  );
  return (await Promise.all(runs)).flat();
}

describe("single-instance lock and key creation under real concurrent processes", () => {
  it(`of ${PROCESSES} agents starting together over a stale lock, never two run at once (${ROUNDS} tries)`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const dir = join(tmp.dir, String(round));
      mkdirSync(dir, { recursive: true });
      // What a crashed agent left behind: its pid (long gone) in this boot.
      writeFileSync(join(dir, "agent.lock"), `999999999 ${bootId()}\n`);
    }
    const lines = await race("lock");
    let contested = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const held = lines
        .filter((l) => l.startsWith(`ACQ ${round} `))
        .map((l) => l.split(" ").slice(2).map(Number) as [number, number]);
      const refused = lines.filter((l) => l === `REF ${round}`).length;
      expect(held.length + refused).toBe(PROCESSES);
      expect(held.length).toBeGreaterThanOrEqual(1);
      // A child that came late may take the lock after the winner let it go; never while it holds it.
      for (const [i, a] of held.entries()) {
        for (const b of held.slice(i + 1))
          expect({ round, overlap: a[0] < b[1] && b[0] < a[1] }).toEqual({ round, overlap: false });
      }
      if (refused === PROCESSES - 1) contested++;
    }
    // The children really did start together in most rounds (else this test proves nothing).
    expect(contested).toBeGreaterThan(ROUNDS / 2);
  }, 60_000);

  it(`of ${PROCESSES} processes creating the secret key together, every one seals with the key on disk (${ROUNDS} tries)`, async () => {
    const lines = await race("key");
    expect(lines).toHaveLength(PROCESSES * ROUNDS);
    for (const line of lines) {
      const [, round, sealed] = line.split(" ");
      const box = SecretBox.open(join(tmp.dir, round as string), {});
      expect(box.open(sealed as string)).toMatch(new RegExp(`^secret-${round}-\\d+$`));
    }
  }, 60_000);
});
