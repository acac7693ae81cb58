import { spawn } from "node:child_process";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { tempDir } from "../support/tmp.js";

const CHILD = join(import.meta.dirname, "../../dist/test/support/crash-child.js");
const ROUNDS = 12;
const tmp = tempDir("pkb-hub-crash-");
afterAll(() => tmp.cleanup());

/** Runs the child until `killAfterMs` after its first acknowledgement, then SIGKILLs it. */
function runAndKill(dir: string, round: number, killAfterMs: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dir, `r${round}`], { stdio: ["ignore", "pipe", "pipe"] });
    const acked: string[] = [];
    let partial = "";
    let stderr = "";
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on("data", (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        if (line.startsWith("ACK ")) acked.push(line.slice(4));
        if (!timer && line.startsWith("ACK ")) timer = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
      }
    });
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    child.on("exit", (_code, signal) => {
      if (signal !== "SIGKILL") reject(new Error(`child ended without being killed: ${stderr}`));
      else resolve(acked);
    });
  });
}

describe("crash safety", () => {
  it(`every reading acknowledged as durable survives ${ROUNDS} SIGKILLs mid-ingest, and the file stays intact`, async () => {
    const all: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const acked = await runAndKill(tmp.dir, round, 20 + Math.floor(Math.random() * 250));
      expect(acked.length).toBeGreaterThan(0);
      all.push(...acked);
      const db = new Database(join(tmp.dir, "buffer.db"));
      expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
      const present = new Set(db.prepare("SELECT key FROM readings").pluck().all() as string[]);
      const outboxRows = db.prepare("SELECT count(*) FROM outbox").pluck().get() as number;
      db.close();
      const missing = all.filter((k) => !present.has(k));
      expect(missing).toEqual([]);
      // Every stored reading has exactly its outbox row: the two were written in one transaction.
      expect(outboxRows).toBe(present.size);
    }
    expect(all.length).toBeGreaterThan(ROUNDS * 10);
  }, 120_000);
});
