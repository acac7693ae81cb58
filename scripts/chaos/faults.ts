import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Agent } from "../../src/agent/agent.js";
import { parseConfig } from "../../src/config/load.js";
import type { ConfigInput } from "../../src/config/schema.js";
import { finishReading } from "../../src/core/finish.js";
import { silentLogger } from "../../src/core/log.js";
import type { Fault } from "../../test/standin/pkb.js";
import { startPkbStandin } from "../../test/standin/pkb.js";
import { tempDir } from "../../test/support/tmp.js";
import { flags, intFlag, report } from "../bench/common.js";
import { CHAOS_PATIENT, linkChaosPatient } from "./rest-link.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * What the stand-in answers instead of the truth, drawn at the fault rate. One kind is a permanent
 * rejection (422): those readings must end as dead letters with PKB's reason, and only those.
 */
const TRANSIENT: Array<{ weight: number; fault: Fault }> = [
  { weight: 3, fault: { kind: "status", status: 500 } },
  { weight: 2, fault: { kind: "status", status: 503, retryAfter: "1" } },
  { weight: 2, fault: { kind: "status", status: 429, retryAfter: "1" } },
  { weight: 2, fault: { kind: "hang" } }, // timeout before processing
  { weight: 3, fault: { kind: "accept-then-hang" } }, // timeout after processing
  { weight: 2, fault: { kind: "reset" } }, // connection reset before processing
  { weight: 3, fault: { kind: "accept-then-reset" } }, // answer lost after processing
  {
    weight: 2,
    fault: { kind: "accept-then-answer", status: 200, body: "<html>proxy</html>", contentType: "text/html" },
  },
  { weight: 1, fault: { on: "token", kind: "status", status: 503 } },
  { weight: 1, fault: { on: "token", kind: "reset" } },
  { weight: 1, fault: { kind: "status", status: 422, message: "measurement refused by validation" } },
];

function picker(rand: () => number): () => Fault {
  const total = TRANSIENT.reduce((n, f) => n + f.weight, 0);
  return () => {
    let r = rand() * total;
    for (const f of TRANSIENT) {
      r -= f.weight;
      if (r < 0) return f.fault;
    }
    return TRANSIENT[0]?.fault as Fault;
  };
}

/** A small deterministic generator (mulberry32), so a run can be repeated with `--seed`. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FaultsResult {
  route: string;
  requests: number;
  injected: number;
  delivered: number;
  dead_letter: number;
  lost: number;
  duplicates: number;
  /** For each reading the record holds more than once: its outbox row, to see how it happened. */
  duplicated: unknown[];
}

/**
 * `npm run chaos -- faults [--route rest] [--readings 300] [--rate 0.25] [--seed N]`: the agent (in
 * this process, real clock, real buffer file) delivers readings to the PKB stand-in while the stand-in
 * answers a share of requests with a fault: 500, 503/429 with Retry-After, timeouts before and after
 * processing, connection resets before and after processing, an unreadable 2xx, a failing token
 * endpoint; access tokens expire every few seconds, the patient revokes the hub once (the harness
 * re-links, as a technician would), and a few readings PKB refuses for good (a reading kind PKB has no
 * type for is not among them: those never leave the hub). At the end every reading is either in the
 * record exactly once or a dead letter with its reason.
 */
export async function runRestFaults(o: {
  readings: number;
  rate: number;
  seed: number;
  timeoutMs: number;
}): Promise<FaultsResult> {
  const tmp = tempDir("pkb-hub-faults-");
  const rand = seeded(o.seed);
  const pkb = await startPkbStandin({ accessTokenTtlSec: 5, patients: [CHAOS_PATIENT] });
  const dataDir = join(tmp.dir, "data");
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const secretFile = join(dataDir, "client-secret");
  writeFileSync(secretFile, "test-secret\n", { mode: 0o600 });
  const input: ConfigInput = {
    hub: { id: "faults-hub", timeZone: "Europe/London", dataDir },
    clock: { mode: "assume-synced" },
    log: { level: "silent" },
    buffer: { backoffBaseMs: 50, backoffMaxMs: 1000, leaseSec: 10, maxAttempts: 50 },
    patients: [{ key: "p1", route: "pkb-rest", nhsNumber: CHAOS_PATIENT.nhsNumber }],
    routes: {
      pkbRest: {
        baseUrl: pkb.url,
        clientId: "pkb-hub-test",
        clientSecretFile: secretFile,
        concurrency: 4,
        requestTimeoutMs: 300,
        refreshAheadSec: 1,
        // The stand-in stores a measurement before it answers (or not at all): nothing lands late, so
        // the read-back need not wait the default minute.
        reconcileAfterSec: 1,
      },
    },
    devices: [],
  };
  const config = parseConfig(input);
  const agent = new Agent({ config, logger: silentLogger(), housekeepingMs: 500 });
  try {
    await agent.start();
    const route = config.routes.pkbRest as NonNullable<typeof config.routes.pkbRest>;
    const patient = config.patients[0] as (typeof config.patients)[number];
    await linkChaosPatient(route, patient, dataDir, agent.ctx.clock);
    pkb.api.setFaultRate(o.rate, picker(rand), rand);
    const keys: string[] = [];
    const revokeAt = Math.floor(o.readings / 3);
    for (let n = 1; n <= o.readings; n++) {
      const reading = finishReading(
        {
          kind: "blood-pressure",
          components: [
            { id: "bp-systolic", value: 100 + (n % 60), unit: "mm[Hg]" },
            { id: "bp-diastolic", value: 60 + (n % 30), unit: "mm[Hg]" },
          ],
          seq: n,
          deviceTime: { year: 2026, month: 11, day: 25, hours: 8, minutes: 0, seconds: 0 },
        },
        {
          deviceId: "chaos-bp",
          driver: "ble-blood-pressure",
          patient: "p1",
          timeZone: "Europe/London",
          clock: agent.ctx.clock,
          receivedAtMs: Date.now(),
        },
      );
      await agent.ctx.buffer.ingest([reading]);
      keys.push(reading.key);
      agent.ctx.pokeRoutes();
      if (n === revokeAt) {
        // The patient revokes the hub in PKB; the alert asks for a re-link, a technician does it.
        await pkb.revoke(CHAOS_PATIENT.id);
        const until = Date.now() + 30_000;
        while (!agent.ctx.buffer.alerts.has("RELINK_NEEDED") && Date.now() < until) await sleep(50);
        // The technician's link is not under test here: faults pause while it is made.
        pkb.api.setFaultRate(0, () => ({ kind: "hang" }));
        await linkChaosPatient(route, patient, dataDir, agent.ctx.clock);
        pkb.api.setFaultRate(o.rate, picker(rand), rand);
      }
      await sleep(5);
    }
    const end = Date.now() + o.timeoutMs;
    while (Date.now() < end && agent.ctx.buffer.stats().unsent > 0) await sleep(100);
    pkb.api.setFaultRate(0, () => ({ kind: "hang" }));
    const ids = pkb.records(CHAOS_PATIENT.id).map((m) => m.externalId ?? "");
    const live = new Set(ids);
    const stats = agent.ctx.buffer.stats();
    const delivered = keys.filter((k) => live.has(k)).length;
    const twice = [...live].filter((k) => ids.indexOf(k) !== ids.lastIndexOf(k));
    const duplicated = twice.map((k) =>
      agent.ctx.buffer.db
        .prepare(
          "SELECT o.state, o.attempts, o.ambiguous, o.last_error FROM outbox o JOIN readings r ON r.id = o.reading_id WHERE r.key = ?",
        )
        .get(k),
    );
    return {
      route: "rest",
      requests: pkb.api.requests(),
      injected: pkb.api.injected(),
      delivered,
      dead_letter: stats.byState.dead,
      lost: Math.max(0, keys.length - delivered - stats.byState.dead),
      duplicates: ids.length - live.size,
      duplicated,
    };
  } finally {
    await agent.stop();
    await pkb.stop();
    tmp.cleanup();
  }
}

export async function chaosFaults(args: string[]): Promise<void> {
  const f = flags(args);
  const route = f.get("route") ?? "rest";
  if (route !== "rest") throw new Error(`--route ${route}: only rest is built into faults so far`);
  const rate = Number(f.get("rate") ?? "0.25");
  if (!(rate >= 0 && rate < 1)) throw new Error("--rate must be at least 0 and below 1");
  const result = await runRestFaults({
    readings: intFlag(f, "readings", 300),
    rate,
    seed: intFlag(f, "seed", Date.now() % 1_000_000),
    timeoutMs: intFlag(f, "timeout-sec", 300) * 1000,
  });
  const { route: r, requests, injected, delivered, dead_letter, lost, duplicates } = result;
  report(
    "CHAOS",
    "faults",
    { route: r, requests, injected, delivered, dead_letter, lost, duplicates },
    { rate, ...result },
  );
  if (result.duplicated.length > 0)
    process.stderr.write(`duplicated: ${JSON.stringify(result.duplicated)}\n`);
}
