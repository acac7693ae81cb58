import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfig } from "../../src/config/load.js";
import { SystemClock } from "../../src/core/clock.js";
import { linkPatient } from "../../src/forward/pkb-rest/link.js";
import { pkbMeasurementJson, toPkbMeasurement } from "../../src/forward/pkb-rest/measurement-map.js";
import { tokenStore } from "../../src/forward/pkb-rest/route.js";
import { startPkbStandin } from "../../test/standin/pkb.js";
import { ANN } from "../../test/support/pkb-patients.js";
import { pool } from "./common.js";
import { BENCH_PATIENT, type DrainSetup } from "./drain-setup.js";

/** REST: the PKB stand-in (OAuth + measurements), the patient linked as a technician would, `latencyMs` per request. */
export async function restDrain(dir: string, latencyMs: number, concurrency: number): Promise<DrainSetup> {
  const pkb = await startPkbStandin({ accessTokenTtlSec: 3600, patients: [ANN] });
  const dataDir = join(dir, "data");
  const secretFile = join(dir, "client-secret");
  writeFileSync(secretFile, "test-secret\n", { mode: 0o600 });
  const config = parseConfig({
    hub: { id: "bench-hub", timeZone: "Europe/London", dataDir },
    clock: { mode: "assume-synced" },
    patients: [{ key: BENCH_PATIENT, route: "pkb-rest", nhsNumber: ANN.nhsNumber }],
    routes: {
      pkbRest: { baseUrl: pkb.url, clientId: "pkb-hub-test", clientSecretFile: secretFile, concurrency },
    },
  });
  const route = config.routes.pkbRest as NonNullable<typeof config.routes.pkbRest>;
  let shown: URL | undefined;
  await linkPatient({
    route,
    patient: config.patients[0] as (typeof config.patients)[number],
    store: tokenStore(dataDir),
    clock: new SystemClock({ mode: "assume-synced" }),
    mode: "paste",
    show: (u) => {
      shown = u;
    },
    paste: async () => (await pkb.approve(shown as URL, ANN.id)).href,
  });
  pkb.setLatencyMs(latencyMs);
  return {
    route: "rest",
    config,
    concurrency,
    requests: () => pkb.api.requests(),
    async prepareIdeal(readings) {
      // The same bodies to the same endpoint with a valid OAuth access token of the same link.
      const token = tokenStore(dataDir).get(BENCH_PATIENT)?.accessToken;
      if (!token) throw new Error("the bench patient has no access token");
      const url = new URL("/json/v1/measurements", pkb.url);
      const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
      const bodies = readings.map((r) => pkbMeasurementJson(toPkbMeasurement(r)));
      return {
        requests: bodies.length,
        run: () =>
          pool(bodies.length, concurrency, async (i) => {
            const res = await fetch(url, { method: "POST", headers, body: bodies[i] as string });
            await res.text();
            if (res.status !== 201) throw new Error(`stand-in answered ${res.status}`);
          }),
      };
    },
    stop: () => pkb.stop(),
  };
}
