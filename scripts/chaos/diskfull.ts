import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { parseConfig } from "../../src/config/load.js";
import type { ConfigInput } from "../../src/config/schema.js";
import { SystemClock } from "../../src/core/clock.js";
import { startPkbApiStandin } from "../../test/standin/pkb-api.js";
import { mountSmallFs } from "../../test/support/small-fs.js";
import { tempDir } from "../../test/support/tmp.js";
import { flags, intFlag, report } from "../bench/common.js";
import { runContourMeter } from "../simulators/contour.js";
import { startPtyPair } from "../simulators/socat.js";
import { AgentProcess } from "./agent-process.js";
import { CHAOS_PATIENT, chaosRestRoute, linkChaosPatient } from "./rest-target.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MIB = 1024 * 1024;
/** One record every 5 minutes in the simulated meter's memory. */
const RECORD_STEP_MS = 300_000;

export interface DiskfullOptions {
  /** Records in the simulated meter's memory (all of them are produced). */
  records: number;
  /** The disk fills once the hub has acknowledged this many records. */
  fillAfter: number;
  /** How long the disk stays full. */
  fullMs: number;
  /** Size of the tmpfs holding the data directory. */
  fsBytes: number;
  /** Added by the stand-in to every answer, so a backlog exists when the disk fills. */
  latencyMs: number;
  /** Access tokens expire this often: refreshes (and their token-file writes) happen on the full disk. */
  tokenTtlSec: number;
  timeoutMs: number;
  /** How long the meter waits for the hub's answer before sending a record again (it gives up after 20). */
  ackTimeoutMs: number;
  /** Half-way through the full spell the agent is stopped and started again (a reboot on a full disk). */
  restartWhileFull: boolean;
}

export interface DiskfullResult {
  produced: number;
  stored: number;
  refused: number;
  delivered: number;
  lost: number;
  crashed: number;
  delivered_while_full: number;
  duplicates: number;
  dead: number;
  unsent: number;
  filledBytes: number;
  meterSessions: number;
  /** From the agent's start: disk filled, freed, everything acknowledged in the record. */
  timesMs: { filled: number; freed: number; done: number };
  exitCodes: Array<number | string | null>;
  /** The agent's own log (warn and above: codes and counts, no PHI), for reading a bad run. */
  agentLog: string[];
}

/** Writes `file` until the filesystem says ENOSPC (big chunks, then small ones, so nothing is left). */
export function fillDisk(file: string): number {
  const fd = openSync(file, "a", 0o600);
  let bytes = 0;
  try {
    for (const size of [MIB, 64 * 1024, 4096, 512]) {
      const chunk = Buffer.alloc(size, 0xa5);
      for (;;) {
        try {
          bytes += writeSync(fd, chunk);
        } catch (err) {
          if ((err as { code?: unknown }).code === "ENOSPC") break;
          throw err;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return bytes;
}

/** Outbox rows of the buffer after the run: dead letters' record times, and rows still unsent. */
function bufferAfter(file: string): { deadTimes: Set<number>; unsent: number } {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const dead = db
      .prepare(
        "SELECT r.measured_at FROM outbox o JOIN readings r ON r.id = o.reading_id WHERE o.state = 'dead'",
      )
      .pluck()
      .all() as string[];
    const unsent = db
      .prepare("SELECT count(*) FROM outbox WHERE state NOT IN ('delivered', 'dead', 'quarantined')")
      .pluck()
      .get() as number;
    return { deadTimes: new Set(dead.map((t) => Date.parse(t))), unsent };
  } finally {
    db.close();
  }
}

/**
 * The agent's data directory on a small tmpfs; a simulated meter (in this process, on a real pty)
 * downloads its records while the agent delivers them to the PKB stand-in; part-way the disk is
 * filled to ENOSPC by another file, kept full, then freed. Acknowledged = the meter got the ACK (the
 * hub answers only after the commit); refused = the meter had to send a record again.
 */
export async function runDiskfull(o: DiskfullOptions): Promise<DiskfullResult> {
  const fs = mountSmallFs(o.fsBytes);
  if (!fs) throw new Error("diskfull needs to mount a tmpfs (run as root)");
  const work = tempDir("pkb-hub-diskfull-");
  const pkb = await startPkbApiStandin({ accessTokenTtlSec: o.tokenTtlSec, latencyMs: o.latencyMs });
  pkb.addPatient(CHAOS_PATIENT);
  const dataDir = join(fs.dir, "data");
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const pty = await startPtyPair(join(work.dir, "meter-device"), join(work.dir, "meter-hub"));
  const agent = new AgentProcess(join(work.dir, "config.yaml"), join(work.dir, "agent.log"));
  const filler = join(fs.dir, "filler");
  const acked = new Set<number>();
  const refused = new Set<number>();
  let meterDone = false;
  let meterSessions = 0;
  let stopMeter = false;
  try {
    const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    const input: ConfigInput = {
      hub: { id: "diskfull-hub", timeZone, dataDir },
      clock: { mode: "assume-synced" },
      log: { level: "warn" },
      // A cap the tmpfs cannot reach: what fills up here is the disk, not the buffer's cap.
      buffer: { maxSize: "64 MiB", backoffBaseMs: 100, backoffMaxMs: 1000, leaseSec: 5 },
      patients: [{ key: "p1", route: "pkb-rest", nhsNumber: CHAOS_PATIENT.nhsNumber }],
      routes: { pkbRest: chaosRestRoute(pkb.url, work.dir, { concurrency: 2, refreshAheadSec: 1 }) },
      devices: [{ id: "meter", driver: "contour-serial", patient: "p1", serialPath: pty.hubEnd }],
    };
    const config = parseConfig(input);
    await linkChaosPatient(
      config.routes.pkbRest as NonNullable<typeof config.routes.pkbRest>,
      config.patients[0] as (typeof config.patients)[number],
      dataDir,
      new SystemClock({ mode: "assume-synced" }),
    );
    agent.writeConfig(input);
    agent.start();
    // Whole minutes (the meter writes minutes), far enough back that every record is in the past.
    const firstRecordMs = Math.floor((Date.now() - (o.records + 10) * RECORD_STEP_MS) / 60_000) * 60_000;
    const meter = (async () => {
      // A meter that gives up (the hub refused a record too long) is plugged in again: a new download.
      while (!stopMeter && meterSessions < 50) {
        meterSessions++;
        try {
          await runContourMeter({
            path: pty.deviceEnd,
            records: o.records,
            firstRecordMs,
            frameDelayMs: 2,
            ackTimeoutMs: o.ackTimeoutMs,
            onRecord: (n, ok) => (ok ? acked : refused).add(n),
          });
          meterDone = true;
          return;
        } catch {
          await sleep(500);
        }
      }
    })();
    const recordTime = (n: number) => firstRecordMs + (n - 1) * RECORD_STEP_MS;
    const inRecord = () => new Set(pkb.records(CHAOS_PATIENT.id).map((m) => Date.parse(m.observedDate)));
    const t0 = Date.now();
    const deadline = t0 + o.timeoutMs;
    while (acked.size < o.fillAfter && Date.now() < deadline) await sleep(20);
    const filledAtMs = Date.now() - t0;
    const filledBytes = fillDisk(filler);
    const atFill = inRecord().size;
    if (o.restartWhileFull) {
      await sleep(o.fullMs / 2);
      await agent.stop();
      agent.start();
      await sleep(o.fullMs / 2);
    } else await sleep(o.fullMs);
    const deliveredWhileFull = inRecord().size - atFill;
    rmSync(filler, { force: true });
    const freedAtMs = Date.now() - t0;
    for (;;) {
      const live = inRecord();
      if (meterDone && [...acked].every((n) => live.has(recordTime(n)))) break;
      if (Date.now() > deadline) break;
      await sleep(200);
    }
    const doneAtMs = Date.now() - t0;
    // Rows still in flight (the stand-in has them, the completion is being written) settle first.
    await sleep(500);
    stopMeter = true;
    await agent.stop();
    await Promise.race([meter, sleep(5000)]);
    const after = bufferAfter(join(dataDir, "buffer.db"));
    const records = pkb.records(CHAOS_PATIENT.id);
    const live = new Set(records.map((m) => Date.parse(m.observedDate)));
    const ids = records.map((m) => m.externalId ?? m.observedDate);
    const lost = [...acked].filter((n) => !live.has(recordTime(n)) && !after.deadTimes.has(recordTime(n)));
    return {
      produced: o.records,
      stored: acked.size,
      refused: refused.size,
      delivered: live.size,
      lost: lost.length,
      crashed: agent.crashes,
      delivered_while_full: deliveredWhileFull,
      duplicates: ids.length - new Set(ids).size,
      dead: after.deadTimes.size,
      unsent: after.unsent,
      filledBytes,
      meterSessions,
      timesMs: { filled: filledAtMs, freed: freedAtMs, done: doneAtMs },
      exitCodes: agent.exitCodes,
      agentLog: readFileSync(join(work.dir, "agent.log"), "utf8").split("\n").filter(Boolean).slice(-200),
    };
  } finally {
    stopMeter = true;
    agent.kill();
    await pty.stop();
    await pkb.stop();
    rmSync(filler, { force: true });
    fs.cleanup();
    work.cleanup();
  }
}

/**
 * `npm run chaos -- diskfull [--records 1500] [--fill-after 300] [--full-sec 15] [--fs-mib 8]`:
 * see runDiskfull. Needs root (it mounts a tmpfs).
 */
export async function chaosDiskfull(args: string[]): Promise<void> {
  const f = flags(args);
  const records = intFlag(f, "records", 1500);
  const r = await runDiskfull({
    records,
    fillAfter: Math.min(records, intFlag(f, "fill-after", Math.ceil(records / 5))),
    fullMs: intFlag(f, "full-sec", 15) * 1000,
    fsBytes: intFlag(f, "fs-mib", 8) * MIB,
    latencyMs: intFlag(f, "latency-ms", 150),
    tokenTtlSec: intFlag(f, "token-ttl-sec", 5),
    timeoutMs: intFlag(f, "timeout-sec", 180) * 1000,
    ackTimeoutMs: intFlag(f, "ack-timeout-ms", 1000),
    restartWhileFull: f.get("restart-while-full") !== "no",
  });
  const { produced, stored, refused, delivered, lost, crashed, delivered_while_full, duplicates } = r;
  report(
    "CHAOS",
    "diskfull",
    { produced, stored, refused, delivered, lost, crashed, delivered_while_full, duplicates },
    r,
  );
}
