import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { connectAsync } from "mqtt";
import { parseConfig } from "../../src/config/load.js";
import type { ConfigInput } from "../../src/config/schema.js";
import { SystemClock } from "../../src/core/clock.js";
import { type Hl7Fault, startHl7Standin } from "../../test/standin/hl7/server.js";
import type { Fault } from "../../test/standin/pkb-api.js";
import { startPkbApiStandin } from "../../test/standin/pkb-api.js";
import { BOB } from "../../test/support/pkb-patients.js";
import { tempDir } from "../../test/support/tmp.js";
import { flags, intFlag, percentile, report, round } from "../bench/common.js";
import { startMosquitto } from "../demo/mosquitto.js";
import { AgentProcess } from "./agent-process.js";
import { seeded } from "./pick.js";
import { CHAOS_PATIENT, chaosRestRoute, linkChaosPatient } from "./rest-target.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Transient REST faults only (a permanent rejection would end as a dead letter, not a loss). */
const REST_FAULTS: Fault[] = [
  { kind: "status", status: 500 },
  { kind: "status", status: 503, retryAfter: "1" },
  { kind: "status", status: 429, retryAfter: "1" },
  { kind: "reset" },
  { kind: "hang" },
  { kind: "accept-then-reset" },
];
/** HL7 faults before PKB processes the message (an outcome the hub can know). */
const HL7_FAULTS: Hl7Fault[] = [
  { kind: "status", status: 500 },
  { kind: "status", status: 503, retryAfter: 1 },
  { kind: "soap-fault", code: "Server" },
];

/** Resident memory of a process in MB (VmRSS), undefined when it is gone. */
function rssMb(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Least-squares slope of y over x. */
export function slope(points: Array<{ x: number; y: number }>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  const sxy = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  return sxx === 0 ? 0 : sxy / sxx;
}

interface BufferRows {
  restKeys: Map<string, string>;
  hl7Delivered: number;
  hl7Unsent: number;
  unsent: number;
}

function readBuffer(file: string): BufferRows {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const rest = db
      .prepare(
        "SELECT r.key, o.state FROM outbox o JOIN readings r ON r.id = o.reading_id WHERE o.route = 'pkb-rest'",
      )
      .all() as Array<{ key: string; state: string }>;
    const count = (sql: string) => db.prepare(sql).pluck().get() as number;
    return {
      restKeys: new Map(rest.map((r) => [r.key, r.state])),
      hl7Delivered: count("SELECT count(*) FROM outbox WHERE route = 'hl7' AND state = 'delivered'"),
      hl7Unsent: count(
        "SELECT count(*) FROM outbox WHERE route = 'hl7' AND state NOT IN ('delivered','dead','quarantined')",
      ),
      unsent: count("SELECT count(*) FROM outbox WHERE state NOT IN ('delivered','dead','quarantined')"),
    };
  } finally {
    db.close();
  }
}

/**
 * `npm run chaos -- soak [--minutes 30] [--rate 0.05] [--packets-per-sec 50]`: the agent as a
 * process with two simulated oximeters (one patient on the REST route, one on HL7), faults on both
 * stand-ins, MQTT on (its own mosquitto). RSS is read from /proc every few seconds, event-loop lag
 * from the agent's MQTT health (`runtime`). At the end the devices are removed, the agent drains
 * with faults off, and every stored reading is looked for in the stand-ins.
 */
export async function chaosSoak(args: string[]): Promise<void> {
  const f = flags(args);
  const minutes = Number(f.get("minutes") ?? "30");
  if (!(minutes > 0)) throw new Error("--minutes must be positive");
  const rate = Number(f.get("rate") ?? "0.05");
  const packetsPerSec = intFlag(f, "packets-per-sec", 50);
  const rand = seeded(intFlag(f, "seed", Date.now() % 1_000_000));
  const runMs = minutes * 60_000;
  const warmupMs = Math.max(30_000, runMs * 0.2);
  const tmp = tempDir("pkb-hub-soak-");
  const pkb = await startPkbApiStandin({ accessTokenTtlSec: 120 });
  pkb.addPatient(CHAOS_PATIENT);
  const hl7 = await startHl7Standin();
  const broker = await startMosquitto({ dir: tmp.dir });
  const dataDir = join(tmp.dir, "data");
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const hl7Password = join(tmp.dir, "hl7-password");
  writeFileSync(hl7Password, "partner-password\n", { mode: 0o600 });
  const agent = new AgentProcess(join(tmp.dir, "config.yaml"), join(tmp.dir, "agent.log"));
  const oximeter = (id: string, patient: string) => ({
    id,
    driver: "nonin-serial",
    patient,
    simulate: true,
    options: { packets: 10_000_000, packetsPerSec, condenseWindowSec: 0.25, condenseMinSamples: 3 },
  });
  const input = (devices: boolean): ConfigInput => ({
    hub: { id: "soak-hub", timeZone: "Europe/London", dataDir },
    clock: { mode: "assume-synced" },
    log: { level: "warn" },
    buffer: { backoffBaseMs: 200, backoffMaxMs: 5000, leaseSec: 10, retentionDays: 1 },
    patients: [
      { key: "p1", route: "pkb-rest", nhsNumber: CHAOS_PATIENT.nhsNumber },
      {
        key: "p2",
        route: "hl7",
        nhsNumber: BOB.nhsNumber,
        firstName: BOB.firstName,
        lastName: BOB.lastName,
        dob: BOB.dob,
        sex: "M",
      },
    ],
    routes: {
      pkbRest: chaosRestRoute(pkb.url, tmp.dir, { concurrency: 2, requestTimeoutMs: 2000 }),
      hl7: {
        url: hl7.url,
        username: "partner",
        passwordFile: hl7Password,
        sendingFacility: "DEMOALIAS",
        requestTimeoutMs: 2000,
      },
    },
    monitor: { mqtt: { url: broker.url, healthIntervalSec: 5 } },
    devices: devices ? [oximeter("ox-rest", "p1"), oximeter("ox-hl7", "p2")] : [],
  });
  const mqtt = await connectAsync(broker.url);
  const lags: Array<{ t: number; p99: number; max: number }> = [];
  const rss: Array<{ t: number; mb: number }> = [];
  let t0 = Date.now();
  mqtt.on("message", (_topic, payload) => {
    try {
      const h = JSON.parse(payload.toString("utf8")) as {
        runtime?: { eventLoopLagP99Ms: number; eventLoopLagMaxMs: number };
      };
      if (h.runtime)
        lags.push({ t: Date.now() - t0, p99: h.runtime.eventLoopLagP99Ms, max: h.runtime.eventLoopLagMaxMs });
    } catch {
      // not a health payload
    }
  });
  await mqtt.subscribeAsync("pkb-hub/soak-hub/health");
  let hl7Timer: NodeJS.Timeout | undefined;
  try {
    const config = parseConfig(input(true));
    await linkChaosPatient(
      config.routes.pkbRest as NonNullable<typeof config.routes.pkbRest>,
      config.patients[0] as (typeof config.patients)[number],
      dataDir,
      new SystemClock({ mode: "assume-synced" }),
    );
    agent.writeConfig(input(true));
    t0 = Date.now();
    agent.start();
    pkb.setFaultRate(rate, () => REST_FAULTS[Math.floor(rand() * REST_FAULTS.length)] as Fault, rand);
    // HL7 faults are queued one at a time: about `rate` of its requests meet one.
    let hl7Seen = hl7.requests();
    hl7Timer = setInterval(() => {
      const now = hl7.requests();
      if (rand() < rate * (now - hl7Seen))
        hl7.injectFaults(HL7_FAULTS[Math.floor(rand() * HL7_FAULTS.length)] as Hl7Fault);
      hl7Seen = now;
    }, 1000);
    while (Date.now() - t0 < runMs) {
      await sleep(5000);
      const pid = agent.pid;
      const mb = pid ? rssMb(pid) : undefined;
      if (mb !== undefined) rss.push({ t: Date.now() - t0, mb });
    }
    // Drain: the devices go, faults stop, the agent delivers what is left.
    clearInterval(hl7Timer);
    pkb.setFaultRate(0, () => ({ kind: "hang" }));
    await agent.stop();
    agent.writeConfig(input(false));
    agent.start();
    const file = join(dataDir, "buffer.db");
    const end = Date.now() + 180_000;
    while (Date.now() < end) {
      await sleep(1000);
      try {
        if (readBuffer(file).unsent === 0) break;
      } catch {
        // the agent is opening it
      }
    }
    await agent.stop();
    const rows = readBuffer(file);
    const ids = pkb.records(CHAOS_PATIENT.id).map((m) => m.externalId ?? "");
    const live = new Set(ids);
    const restLost = [...rows.restKeys].filter(([k, state]) => state !== "dead" && !live.has(k)).length;
    const groups = new Set(
      (hl7.registry.observations.get(BOB.nhsNumber) ?? []).map((o) => `${o.reportId}|${o.group}`),
    );
    const hl7Lost = rows.hl7Unsent + Math.max(0, rows.hl7Delivered - groups.size);
    const afterWarmup = rss.filter((s) => s.t >= warmupMs);
    const steady = afterWarmup.length >= 2 ? afterWarmup : rss;
    const loop = lags.filter((l) => l.t >= warmupMs);
    const loopSteady = loop.length > 0 ? loop : lags;
    report(
      "CHAOS",
      "soak",
      {
        minutes,
        rss_start_mb: round(steady[0]?.mb ?? 0, 1),
        rss_end_mb: round(steady.at(-1)?.mb ?? 0, 1),
        rss_slope_mb_per_h: round(slope(steady.map((s) => ({ x: s.t / 3_600_000, y: s.mb }))), 1),
        loop_p99_ms: round(
          percentile(
            loopSteady.map((l) => l.p99),
            99,
          ),
          1,
        ),
        lost: restLost + hl7Lost,
        duplicates: ids.length - live.size + hl7.registry.duplicateReports,
        readings: rows.restKeys.size + rows.hl7Delivered + rows.hl7Unsent,
        crashed: agent.crashes,
      },
      {
        warmupMs,
        rate,
        packetsPerSec,
        rss,
        lags,
        rest: {
          stored: rows.restKeys.size,
          inRecord: live.size,
          lost: restLost,
          requests: pkb.requests(),
          injected: pkb.injected(),
        },
        hl7: {
          delivered: rows.hl7Delivered,
          unsent: rows.hl7Unsent,
          groups: groups.size,
          lost: hl7Lost,
          duplicateReports: hl7.registry.duplicateReports,
          requests: hl7.requests(),
        },
        loopMaxMs: Math.max(0, ...loopSteady.map((l) => l.max)),
        exitCodes: agent.exitCodes,
        agentLog: readFileSync(join(tmp.dir, "agent.log"), "utf8").split("\n").filter(Boolean).slice(-100),
      },
    );
  } finally {
    if (hl7Timer) clearInterval(hl7Timer);
    agent.kill();
    await mqtt.endAsync().catch(() => {});
    await broker.stop();
    await hl7.stop();
    await pkb.stop();
    tmp.cleanup();
  }
}
