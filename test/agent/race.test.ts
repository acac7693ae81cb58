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
  const children = Array.from({ length: PROCESSES }, () =>
    spawn(process.execPath, [CHILD, mode, tmp.dir, String(ROUNDS), String(INTERVAL_MS)], {
      stdio: ["pipe", "pipe", "pipe"],
    }),
  );
  const outputs = children.map((child) => {
    let out = "";
    let err = "";
    const ready = new Promise<void>((resolve) =>
      child.stdout.on("data", (c: Buffer) => {
        out += c.toString();
        if (out.includes("READY\n")) resolve();
      }),
    );
    child.stderr.on("data", (c: Buffer) => {
      err += c.toString();
    });
    const done = new Promise<string[]>((resolve, reject) =>
      child.on("exit", (code) =>
        code === 0
          ? resolve(out.replace("READY\n", "").trim().split("\n"))
          : reject(new Error(`child failed: ${err}`)),
      ),
    );
    return { ready, done };
  });
  // Every child has started and loaded the code: the first round is a little way ahead.
  await Promise.all(outputs.map((o) => o.ready));
  const startAt = Date.now() + 200;
  for (const child of children) child.stdin.end(`${startAt}\n`);
  return (await Promise.all(outputs.map((o) => o.done))).flat();
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
