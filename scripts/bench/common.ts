import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { HubBuffer } from "../../src/buffer/buffer.js";
import type { Clock } from "../../src/core/clock.js";
import { silentLogger } from "../../src/core/log.js";

/** Parses `--key value` pairs after the bench name. */
export function flags(args: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (!a.startsWith("--")) throw new Error(`unexpected argument ${a}`);
    out.set(a.slice(2), args[i + 1] ?? "");
    i++;
  }
  return out;
}

export function intFlag(f: Map<string, string>, name: string, fallback: number): number {
  const v = f.get(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer`);
  return n;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** Writes the full result under bench-results/ and prints the contract's last line. */
export function report(
  kind: "BENCH" | "CHAOS",
  name: string,
  line: Record<string, string | number>,
  full: unknown,
): void {
  const dir = join(process.cwd(), "bench-results");
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  writeFileSync(
    join(dir, `${kind.toLowerCase()}-${name}-${stamp}.json`),
    `${JSON.stringify({ name, ...line, full }, null, 2)}\n`,
  );
  process.stdout.write(
    `${kind} ${name} ${Object.entries(line)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ")}\n`,
  );
}

export const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** A buffer with the agent's settings for benchmarks: one route, no size pressure. */
export function benchBuffer(file: string, clock: Clock, groupCommitMs: number): HubBuffer {
  return new HubBuffer({
    file,
    clock,
    logger: silentLogger(),
    routeOf: () => "pkb-rest",
    maxSizeBytes: 8 * 1024 ** 3,
    retentionMs: 86_400_000,
    maxAttempts: 10,
    backoffBaseMs: 1000,
    backoffMaxMs: 60_000,
    leaseMs: 60_000,
    groupCommitMs,
  });
}

/** Runs `task(i)` for i in [0, n) with at most `concurrency` in flight (a minimal client's pool). */
export async function pool(
  n: number,
  concurrency: number,
  task: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(n, concurrency) }, worker));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** User + system CPU seconds of this process since `since`. */
export function cpuSeconds(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1e6;
}
