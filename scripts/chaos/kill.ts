import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { stringify } from "yaml";
import { parseConfig } from "../../src/config/load.js";
import type { ConfigInput } from "../../src/config/schema.js";
import { SystemClock } from "../../src/core/clock.js";
import { tempDir } from "../../test/support/tmp.js";
import { flags, intFlag, report } from "../bench/common.js";
import { routeFlag, startTarget } from "./routes.js";
import { attention, type ChaosRoute, type ChaosTarget, storedReadings, type Tally, tally } from "./target.js";

/** The built CLI: beside this file when it runs from dist/, under dist/ when it runs as source (tests). */
const CLI = import.meta.dirname.includes("/dist/")
  ? join(import.meta.dirname, "../../src/cli/main.js")
  : join(import.meta.dirname, "../../dist/src/cli/main.js");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the buffer file says now (undefined before the agent made it): unsent rows, and the readings against the record. */
function inspect(
  file: string,
  produced: number,
  target: ChaosTarget,
): { unsent: number; tally: Tally } | undefined {
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const unsent = db
      .prepare("SELECT count(*) FROM outbox WHERE state IN ('held','pending','leased')")
      .pluck()
      .get() as number;
    const readings = storedReadings(db);
    return { unsent, tally: tally(produced, readings, target.copies(readings), attention(db)) };
  } catch {
    return undefined; // not there yet, or its tables not made yet
  } finally {
    db?.close();
  }
}

export interface KillResult {
  route: ChaosRoute;
  rounds: number;
  produced: number;
  delivered: number;
  lost: number;
  duplicates: number;
  dead: number;
  held: number;
  requests: number;
  lost_keys: string[];
  duplicated_keys: string[];
}

/**
 * `npm run chaos -- kill [--route rest|hl7] [--rounds 20] [--records-per-round 15]`: the agent runs
 * as a real process reading a simulated meter (its record memory grows each round) and delivering
 * to the route's stand-in; it is SIGKILLed at random moments and restarted. At the end, every
 * record the meter produced is compared with what the stand-in's record holds.
 */
export async function runKill(o: {
  route: ChaosRoute;
  rounds: number;
  perRound: number;
}): Promise<KillResult> {
  const tmp = tempDir("pkb-hub-chaos-");
  const dataDir = join(tmp.dir, "data");
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const target = await startTarget(o.route, "kill", dataDir);
  const firstRecordMs = Date.now() - 30 * 86_400_000;
  const configFor = (records: number): ConfigInput => ({
    hub: { id: "chaos-hub", timeZone: "Europe/London", dataDir },
    clock: { mode: "assume-synced" },
    log: { level: "warn" },
    buffer: { backoffBaseMs: 100, backoffMaxMs: 1000, leaseSec: 2 },
    patients: [target.patient],
    routes: target.routes,
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
  const file = join(dataDir, "buffer.db");
  let child: ChildProcess | undefined;
  const stop = async (signal: NodeJS.Signals) => {
    const exited = new Promise((r) => child?.once("exit", r));
    process.kill(-(child?.pid as number), signal);
    await exited;
    child = undefined;
  };
  try {
    await target.prepare(parseConfig(configFor(1)), dataDir, new SystemClock({ mode: "assume-synced" }));
    const start = (records: number) => {
      writeFileSync(configFile, stringify(configFor(records)), { mode: 0o600 });
      // Its own process group: a kill takes the agent's children (socat, the simulated meter) too,
      // as systemd's control-group kill would.
      child = spawn(process.execPath, [CLI, "run", "--config", configFile], {
        stdio: "ignore",
        detached: true,
      });
    };
    for (let round = 1; round <= o.rounds; round++) {
      start(round * o.perRound);
      await sleep(150 + Math.floor(Math.random() * 900));
      await stop("SIGKILL");
    }
    const produced = o.rounds * o.perRound;
    // A last run, left alone, until the meter's records are all stored and delivered (or dead).
    start(produced);
    const end = Date.now() + 120_000;
    while (Date.now() < end) {
      const now = inspect(file, produced, target);
      if (now && now.unsent === 0 && now.tally.lost === 0) break;
      await sleep(250);
    }
    await stop("SIGTERM");
    const t =
      inspect(file, produced, target)?.tally ?? tally(produced, [], [], { dead: new Set(), held: new Set() });
    return {
      route: o.route,
      rounds: o.rounds,
      produced,
      delivered: t.delivered,
      lost: t.lost,
      duplicates: t.duplicates,
      dead: t.dead,
      held: t.held,
      requests: target.requests(),
      lost_keys: t.lostKeys,
      duplicated_keys: t.duplicatedKeys,
    };
  } finally {
    if (child?.pid) process.kill(-child.pid, "SIGKILL");
    await target.stop();
    tmp.cleanup();
  }
}

export async function chaosKill(args: string[]): Promise<void> {
  const f = flags(args);
  const result = await runKill({
    route: routeFlag(f.get("route")),
    rounds: intFlag(f, "rounds", 20),
    perRound: intFlag(f, "records-per-round", 15),
  });
  const { route, rounds, produced, delivered, lost, duplicates, held } = result;
  report("CHAOS", "kill", { route, rounds, produced, delivered, lost, duplicates, held }, result);
}
