import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Config, PatientConfig } from "../../src/config/schema.js";
import type { Clock } from "../../src/core/clock.js";
import { linkPatient } from "../../src/forward/pkb-rest/link.js";
import type { PkbRestConfig } from "../../src/forward/pkb-rest/oauth.js";
import { tokenStore } from "../../src/forward/pkb-rest/route.js";
import { type Fault, startPkbStandin } from "../../test/standin/pkb.js";
import { approveAs } from "../../test/standin/pkb-oauth.js";
import { weighted } from "./pick.js";
import type { ChaosRun, ChaosTarget } from "./target.js";

/** The PKB account every chaos run delivers into (a valid NHS number; no real person). */
export const CHAOS_PATIENT = {
  id: "pkb-chaos",
  firstName: "Chaos",
  lastName: "Test",
  dob: "1950-01-31",
  gender: "F",
  nhsNumber: "9434765919",
};

/** PKB's reason for the one permanent rejection injected: the only dead letters a faults run may have. */
const REFUSED = "measurement refused by validation";

/**
 * What the stand-in answers instead of the truth, drawn at the fault rate. One kind is a permanent
 * rejection (422): those readings must end as dead letters with PKB's reason, and only those.
 */
const REST_FAULTS: Array<{ weight: number; fault: Fault }> = [
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
  { weight: 1, fault: { kind: "status", status: 422, message: REFUSED } },
];

/** The request timeout of the technician's link (the Users API, the token exchange). */
const LINK_TIMEOUT_MS = 10_000;

/** Links the local patient to the chaos account as a technician would (paste mode, patient approves). */
export async function linkChaosPatient(
  route: PkbRestConfig,
  patient: PatientConfig,
  dataDir: string,
  clock: Clock,
): Promise<void> {
  let shown: URL | undefined;
  await linkPatient({
    // The technician's link is not under test: the faults run's 300 ms request timeout (there to
    // exercise the agent's) would fail it whenever this shared machine is slow to answer in time.
    route: { ...route, requestTimeoutMs: Math.max(route.requestTimeoutMs, LINK_TIMEOUT_MS) },
    patient,
    store: tokenStore(dataDir),
    clock,
    mode: "paste",
    show: (u) => {
      shown = u;
    },
    paste: async () => (await approveAs(shown as URL, CHAOS_PATIENT.id)).href,
  });
}

const linkIn = (config: Config, dataDir: string, clock: Clock) =>
  linkChaosPatient(
    config.routes.pkbRest as NonNullable<Config["routes"]["pkbRest"]>,
    config.patients[0] as PatientConfig,
    dataDir,
    clock,
  );

/**
 * The REST route against the PKB stand-in (OAuth, measurements API). In a faults run access tokens
 * expire every few seconds, requests time out after 300 ms, and the patient revokes the hub once.
 */
export async function restTarget(run: ChaosRun, dataDir: string): Promise<ChaosTarget> {
  const pkb = await startPkbStandin({
    accessTokenTtlSec: run === "faults" ? 5 : 600,
    patients: [CHAOS_PATIENT],
  });
  let fault = { rate: 0, pick: (): Fault => ({ kind: "hang" }), rand: Math.random };
  const setRate = (rate: number) => pkb.api.setFaultRate(rate, fault.pick, fault.rand);
  return {
    route: "rest",
    patient: { key: "p1", route: "pkb-rest", nhsNumber: CHAOS_PATIENT.nhsNumber },
    routes: {
      // The stand-in stores a measurement before it answers (or not at all), even when the agent is
      // killed mid-request: nothing lands late, so the read-back need not wait the default minute.
      pkbRest: chaosRestRoute(pkb.url, dataDir, {
        reconcileAfterSec: 1,
        ...(run === "faults"
          ? { concurrency: 4, requestTimeoutMs: 300, refreshAheadSec: 1 }
          : { concurrency: 2 }),
      }),
    },
    prepare: linkIn,
    setFaultRate(rate, rand = Math.random) {
      fault = { rate, pick: weighted(REST_FAULTS, rand), rand };
      setRate(rate);
    },
    async midway(agent, config, dataDir) {
      // The patient revokes the hub in PKB; the alert asks for a re-link, a technician does it.
      await pkb.revoke(CHAOS_PATIENT.id);
      const until = Date.now() + 30_000;
      while (!agent.ctx.buffer.alerts.has("RELINK_NEEDED") && Date.now() < until)
        await new Promise((r) => setTimeout(r, 50));
      // The technician's link is not under test here: faults pause while it is made.
      setRate(0);
      await linkIn(config, dataDir, agent.ctx.clock);
      setRate(fault.rate);
    },
    copies(readings) {
      const count = new Map<string, number>();
      for (const m of pkb.records(CHAOS_PATIENT.id))
        count.set(m.externalId ?? "", (count.get(m.externalId ?? "") ?? 0) + 1);
      return readings.map((r) => count.get(r.key) ?? 0);
    },
    expectedDeadReason: (reason) => reason.includes(REFUSED),
    requests: () => pkb.api.requests(),
    injected: () => pkb.api.injected(),
    injectedByKind: () => ({}),
    stop: () => pkb.stop(),
  };
}

/** The REST route a chaos agent delivers on: the stand-in at `baseUrl`, its client secret written into `dir`. */
export function chaosRestRoute(baseUrl: string, dir: string, more: Record<string, number> = {}) {
  const clientSecretFile = join(dir, "client-secret");
  writeFileSync(clientSecretFile, "test-secret\n", { mode: 0o600 });
  return { baseUrl, clientId: "pkb-hub-test", clientSecretFile, ...more };
}
