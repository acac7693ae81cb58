import { pkbMeasurementJson, toPkbMeasurement } from "../../src/forward/pkb-rest/measurement-map.js";
import { tokenStore } from "../../src/forward/pkb-rest/route.js";
import { pool } from "./common.js";
import { BENCH_PATIENT, type DrainSetup } from "./drain-setup.js";
import { startRestHub } from "./rest-hub.js";

/** REST: the PKB stand-in (OAuth + measurements), the patient linked as a technician would, `latencyMs` per request. */
export async function restDrain(dir: string, latencyMs: number, concurrency: number): Promise<DrainSetup> {
  const { pkb, config } = await startRestHub(dir, concurrency);
  pkb.setLatencyMs(latencyMs);
  return {
    route: "rest",
    config,
    concurrency,
    requests: () => pkb.api.requests(),
    async prepareIdeal(readings) {
      // The same bodies to the same endpoint with a valid OAuth access token of the same link.
      const token = tokenStore(config.hub.dataDir).get(BENCH_PATIENT)?.accessToken;
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
