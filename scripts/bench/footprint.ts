import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ConfigInput } from "../../src/config/schema.js";
import { ANN } from "../../test/support/pkb-patients.js";
import { seedBacklogRaw } from "./backlog.js";
import { flags, intFlag, report, round, sleep } from "./common.js";
import { BENCH_PATIENT } from "./drain-setup.js";
import { notifySocket, spawnAgent, statusMb, stopAgent, writeBytes } from "./proc.js";
import { startRestHub } from "./rest-hub.js";

const CLI = join(import.meta.dirname, "../../src/cli/main.js");

/** A simulated pulse oximeter condensed to one reading per second (3 samples a second). */
const OXIMETER: ConfigInput["devices"] = [
  {
    id: "oximeter",
    driver: "nonin-serial",
    patient: BENCH_PATIENT,
    simulate: true,
    options: { packets: 1_000_000, packetsPerSec: 3, condenseWindowSec: 1, condenseMinSamples: 2 },
  },
];

interface Phase {
  startupMs: number;
  rssMb: number[];
  peakMb: number;
  delivered: number;
  writeBytes: number;
}

/**
 * One agent run: spawned as systemd would (real NOTIFY_SOCKET), time to READY=1, then RSS sampled
 * every 250 ms and write_bytes counted for `seconds` after `warmS`; readings delivered in that window.
 */
async function phase(
  dir: string,
  name: string,
  backlog: number,
  warmS: number,
  seconds: number,
): Promise<Phase> {
  const hubDir = join(dir, name);
  mkdirSync(hubDir, { recursive: true });
  const hub = await startRestHub(hubDir, 8, { devices: OXIMETER, log: { level: "warn" } });
  const notify = await notifySocket(join(hubDir, "notify.sock"));
  try {
    if (backlog > 0) seedBacklogRaw(hub.config, BENCH_PATIENT, backlog);
    const configFile = join(hubDir, "config.json");
    writeFileSync(configFile, JSON.stringify(hub.raw), { mode: 0o600 });
    const t0 = performance.now();
    const child = spawnAgent(CLI, configFile, notify.path);
    const pid = child.pid as number;
    try {
      const readyAt = await notify.ready(pid, 60_000);
      await sleep(warmS * 1000);
      const records = () => hub.pkb.records(ANN.id).length;
      const delivered0 = records();
      const written0 = writeBytes(pid);
      const rssMb: number[] = [];
      const end = performance.now() + seconds * 1000;
      while (performance.now() < end) {
        rssMb.push(statusMb(pid, "VmRSS"));
        await sleep(250);
      }
      return {
        startupMs: readyAt - t0,
        rssMb,
        peakMb: statusMb(pid, "VmHWM"),
        delivered: records() - delivered0,
        writeBytes: writeBytes(pid) - written0,
      };
    } finally {
      await stopAgent(child);
    }
  } finally {
    notify.stop();
    await hub.pkb.stop();
  }
}

/**
 * `npm run bench -- footprint [--backlog 1000000] [--steady-s 60] [--drain-s 60] [--warm-s 10]`:
 * the agent as a real process with a simulated oximeter (one reading a second) on the REST route.
 * Steady run: time to READY, idle RSS (median), bytes written per reading stored and delivered.
 * Backlog run: `--backlog` readings seeded into the buffer before start; peak RSS while draining.
 */
export async function benchFootprint(args: string[]): Promise<void> {
  const f = flags(args);
  const backlog = intFlag(f, "backlog", 1_000_000);
  const warmS = intFlag(f, "warm-s", 10);
  // On the real disk (not a tmpfs /tmp): write_bytes counts what reaches storage.
  const dir = join(process.cwd(), "bench-results", `footprint-${process.pid}`);
  try {
    const steady = await phase(dir, "steady", 0, warmS, intFlag(f, "steady-s", 60));
    const drain = await phase(dir, "backlog", backlog, 2, intFlag(f, "drain-s", 60));
    const sorted = [...steady.rssMb].sort((a, b) => a - b);
    const idle = sorted[Math.floor(sorted.length / 2)] ?? 0;
    report(
      "BENCH",
      "footprint",
      {
        rss_idle_mb: round(idle, 1),
        rss_backlog_mb: round(Math.max(drain.peakMb, ...drain.rssMb), 1),
        startup_ms: Math.round(steady.startupMs),
        write_kib_per_reading: round(steady.writeBytes / 1024 / Math.max(1, steady.delivered), 1),
        readings_steady: steady.delivered,
        drained: drain.delivered,
      },
      { backlog, steady, drain: { ...drain, rssMb: drain.rssMb.filter((_, i) => i % 4 === 0) } },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
