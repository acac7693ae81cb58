import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { Agent } from "../../src/agent/agent.js";
import { parseConfig } from "../../src/config/load.js";
import type { Clock } from "../../src/core/clock.js";
import { finishReading } from "../../src/core/finish.js";
import { silentLogger } from "../../src/core/log.js";
import type { Reading } from "../../src/core/reading.js";
import { tempDir } from "../../test/support/tmp.js";
import { flags, intFlag, report } from "../bench/common.js";
import { seeded } from "./pick.js";
import { routeFlag, startTarget } from "./routes.js";
import { attention, type ChaosRoute, deadReasons, tally } from "./target.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface FaultsResult {
  route: ChaosRoute;
  requests: number;
  injected: number;
  delivered: number;
  dead_letter: number;
  lost: number;
  duplicates: number;
  /** Readings out of the record held for a person with the route's reason (see `tally`). */
  held: number;
  /** Dead letters whose reason is not a permanent rejection the stand-in injected. */
  dead_unexpected: number;
  dead_reasons: string[];
  injected_by_kind: Record<string, number>;
  /** For each reading lost or duplicated: its outbox row, to see how it happened. */
  lost_rows: unknown[];
  duplicated_rows: unknown[];
  held_rows: unknown[];
}

/** The n-th blood pressure of the run: one a minute, values varying, so each is told apart in the record. */
function chaosReading(n: number, clock: Clock): Reading {
  const at = new Date(Date.UTC(2026, 10, 1, 8, 0) + n * 60_000);
  return finishReading(
    {
      kind: "blood-pressure",
      components: [
        { id: "bp-systolic", value: 100 + (n % 60), unit: "mm[Hg]" },
        { id: "bp-diastolic", value: 60 + (n % 30), unit: "mm[Hg]" },
      ],
      seq: n,
      deviceTime: {
        year: at.getUTCFullYear(),
        month: at.getUTCMonth() + 1,
        day: at.getUTCDate(),
        hours: at.getUTCHours(),
        minutes: at.getUTCMinutes(),
        seconds: 0,
      },
    },
    {
      deviceId: "chaos-bp",
      driver: "ble-blood-pressure",
      patient: "p1",
      timeZone: "Europe/London",
      clock,
      receivedAtMs: Date.now(),
    },
  );
}

/**
 * `npm run chaos -- faults [--route rest|hl7] [--readings 300] [--rate 0.25] [--seed N]`: the agent
 * (in this process, real clock, real buffer file) delivers readings to the route's stand-in while
 * the stand-in answers a share of requests with a fault: 500, 503/429 with Retry-After, timeouts
 * before and after processing, connection resets before and after processing, unreadable answers,
 * and a few permanent refusals. REST adds a failing token endpoint, access tokens expiring every
 * few seconds and one revocation (the harness re-links, as a technician would); HL7 adds SOAP
 * faults and AR/AE acknowledgements. At the end every reading is either in the record exactly once
 * or a dead letter with the reason PKB gave.
 */
export async function runFaults(o: {
  route: ChaosRoute;
  readings: number;
  rate: number;
  seed: number;
  timeoutMs: number;
  /**
   * The route's one-off event a third of the way through (REST: revocation and re-link; default on).
   */
  midway?: boolean;
}): Promise<FaultsResult> {
  const tmp = tempDir("pkb-hub-faults-");
  const rand = seeded(o.seed);
  const dataDir = join(tmp.dir, "data");
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const target = await startTarget(o.route, "faults", dataDir);
  const config = parseConfig({
    hub: { id: "faults-hub", timeZone: "Europe/London", dataDir },
    clock: { mode: "assume-synced" },
    log: { level: "silent" },
    buffer: { backoffBaseMs: 50, backoffMaxMs: 1000, leaseSec: 10, maxAttempts: 50 },
    patients: [target.patient],
    routes: target.routes,
    devices: [],
  });
  const agent = new Agent({ config, logger: silentLogger(), housekeepingMs: 500 });
  try {
    await agent.start();
    const buffer = agent.ctx.buffer;
    await target.prepare(config, dataDir, agent.ctx.clock);
    target.setFaultRate(o.rate, rand);
    const readings: Reading[] = [];
    for (let n = 1; n <= o.readings; n++) {
      const reading = chaosReading(n, agent.ctx.clock);
      await buffer.ingest([reading]);
      readings.push(reading);
      agent.ctx.pokeRoutes();
      if (o.midway !== false && n === Math.floor(o.readings / 3))
        await target.midway?.(agent, config, dataDir);
      await sleep(5);
    }
    const count = () => tally(readings.length, readings, target.copies(readings), attention(buffer.db));
    // Settled: nothing left to send and every reading in the record or a dead letter (a reading
    // being reconciled may be out of the record for a moment between a retraction and its re-send).
    const end = Date.now() + o.timeoutMs;
    while (Date.now() < end && (buffer.stats().unsent > 0 || count().lost > 0)) await sleep(100);
    target.setFaultRate(0);
    const t = count();
    const rowOf = (key: string) =>
      buffer.db
        .prepare(
          "SELECT o.state, o.attempts, o.ambiguous, o.last_error, o.reason FROM outbox o JOIN readings r ON r.id = o.reading_id WHERE r.key = ?",
        )
        .get(key);
    const dead = deadReasons(buffer.db, (r) => target.expectedDeadReason(r));
    return {
      route: o.route,
      requests: target.requests(),
      injected: target.injected(),
      delivered: t.delivered,
      dead_letter: buffer.stats().byState.dead,
      lost: t.lost,
      duplicates: t.duplicates,
      held: t.held,
      held_rows: [...attention(buffer.db).held].map(rowOf),
      dead_unexpected: dead.unexpected,
      dead_reasons: dead.reasons,
      injected_by_kind: target.injectedByKind(),
      lost_rows: t.lostKeys.map(rowOf),
      duplicated_rows: t.duplicatedKeys.map(rowOf),
    };
  } finally {
    await agent.stop();
    await target.stop();
    tmp.cleanup();
  }
}

export async function chaosFaults(args: string[]): Promise<void> {
  const f = flags(args);
  const rate = Number(f.get("rate") ?? "0.25");
  if (!(rate >= 0 && rate < 1)) throw new Error("--rate must be at least 0 and below 1");
  const seed = intFlag(f, "seed", Date.now() % 1_000_000);
  const result = await runFaults({
    route: routeFlag(f.get("route")),
    readings: intFlag(f, "readings", 300),
    rate,
    seed,
    timeoutMs: intFlag(f, "timeout-sec", 300) * 1000,
  });
  const { route, requests, injected, delivered, dead_letter, lost, duplicates, held } = result;
  report(
    "CHAOS",
    "faults",
    { route, requests, injected, delivered, dead_letter, lost, duplicates, held },
    { rate, seed, ...result },
  );
}
