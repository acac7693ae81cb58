import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { stringify } from "yaml";
import { parseConfig } from "../../src/config/load.js";
import type { ConfigInput } from "../../src/config/schema.js";
import { SystemClock } from "../../src/core/clock.js";
import { startPkbApiStandin } from "../../test/standin/pkb-api.js";
import { tempDir } from "../../test/support/tmp.js";
import { flags, intFlag, report } from "../bench/common.js";
import { CHAOS_PATIENT, linkChaosPatient } from "./rest-link.js";

const CLI = join(import.meta.dirname, "../../src/cli/main.js");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function unsent(file: string): number {
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      return db
        .prepare("SELECT count(*) FROM outbox WHERE state IN ('held','pending','leased')")
        .pluck()
        .get() as number;
    } finally {
      db.close();
    }
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/**
 * `npm run chaos -- kill [--rounds 20] [--records-per-round 15]`: the agent runs as a real process
 * reading a simulated meter (its record memory grows each round) and delivering to the PKB stand-in;
 * it is SIGKILLed at random moments and restarted. At the end, every record the meter produced is
 * compared with what the stand-in's record holds.
 */
export async function chaosKill(args: string[]): Promise<void> {
  const f = flags(args);
  const rounds = intFlag(f, "rounds", 20);
  const perRound = intFlag(f, "records-per-round", 15);
  const tmp = tempDir("pkb-hub-chaos-");
  const pkb = await startPkbApiStandin({ accessTokenTtlSec: 600 });
  pkb.addPatient(CHAOS_PATIENT);
  const dataDir = join(tmp.dir, "data");
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const secretFile = join(dataDir, "client-secret");
  writeFileSync(secretFile, "test-secret\n", { mode: 0o600 });
  const firstRecordMs = Date.now() - 30 * 86_400_000;
  const configFor = (records: number): ConfigInput => ({
    hub: { id: "chaos-hub", timeZone: "Europe/London", dataDir },
    clock: { mode: "assume-synced" },
    log: { level: "warn" },
    buffer: { backoffBaseMs: 100, backoffMaxMs: 1000, leaseSec: 2 },
    patients: [{ key: "p1", route: "pkb-rest", nhsNumber: CHAOS_PATIENT.nhsNumber }],
    routes: {
      pkbRest: { baseUrl: pkb.url, clientId: "pkb-hub-test", clientSecretFile: secretFile, concurrency: 2 },
    },
    devices: [
      {
        id: "meter",
        driver: "contour-serial",
        patient: "p1",
        simulate: true,
        options: { records, firstRecordMs },
      },
    ],
  });
  const configFile = join(tmp.dir, "config.yaml");
  let child: ChildProcess | undefined;
  try {
    const parsed = parseConfig(configFor(1));
    await linkChaosPatient(
      parsed.routes.pkbRest as NonNullable<typeof parsed.routes.pkbRest>,
      parsed.patients[0] as (typeof parsed.patients)[number],
      dataDir,
      new SystemClock({ mode: "assume-synced" }),
    );
    const start = (records: number) => {
      writeFileSync(configFile, stringify(configFor(records)), { mode: 0o600 });
      // Its own process group: a kill takes the agent's children (socat, the simulated meter) too,
      // as systemd's control-group kill would.
      return spawn(process.execPath, [CLI, "run", "--config", configFile], {
        stdio: "ignore",
        detached: true,
      });
    };
    let killed = 0;
    for (let round = 1; round <= rounds; round++) {
      child = start(round * perRound);
      await sleep(150 + Math.floor(Math.random() * 900));
      const exited = new Promise((r) => child?.once("exit", r));
      process.kill(-(child.pid as number), "SIGKILL");
      await exited;
      killed++;
    }
    const produced = rounds * perRound;
    // A last run, left alone, until the meter's records are all stored and delivered.
    child = start(produced);
    const end = Date.now() + 120_000;
    const file = join(dataDir, "buffer.db");
    while (Date.now() < end) {
      const received = new Set(pkb.records(CHAOS_PATIENT.id).map((m) => m.externalId)).size;
      if (received >= produced && unsent(file) === 0) break;
      await sleep(250);
    }
    const exited = new Promise((r) => child?.once("exit", r));
    process.kill(-(child.pid as number), "SIGTERM");
    await exited;
    child = undefined;
    const ids = pkb.records(CHAOS_PATIENT.id).map((m) => m.externalId ?? "");
    const distinct = new Set(ids);
    const db = new Database(file, { readonly: true });
    const dead = db.prepare("SELECT count(*) FROM outbox WHERE state = 'dead'").pluck().get() as number;
    db.close();
    report(
      "CHAOS",
      "kill",
      {
        rounds: killed,
        produced,
        delivered: distinct.size,
        lost: Math.max(0, produced - distinct.size - dead),
        duplicates: ids.length - distinct.size,
      },
      { dead, requests: pkb.requests() },
    );
  } finally {
    if (child?.pid) process.kill(-child.pid, "SIGKILL");
    await pkb.stop();
    tmp.cleanup();
  }
}
