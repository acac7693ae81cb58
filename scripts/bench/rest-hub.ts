import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfig } from "../../src/config/load.js";
import type { Config, ConfigInput } from "../../src/config/schema.js";
import { SystemClock } from "../../src/core/clock.js";
import { linkPatient } from "../../src/forward/pkb-rest/link.js";
import { tokenStore } from "../../src/forward/pkb-rest/route.js";
import { type PkbStandin, startPkbStandin } from "../../test/standin/pkb.js";
import { ANN } from "../../test/support/pkb-patients.js";
import { BENCH_PATIENT } from "./drain-setup.js";

export interface RestHub {
  pkb: PkbStandin;
  /** The hub's configuration as written to a file (for a spawned agent). */
  raw: ConfigInput;
  config: Config;
}

/**
 * A hub on the REST route: the PKB stand-in (OAuth + measurements), one patient linked as a
 * technician would (paste mode, the patient approves), and its configuration. `extra` adds fields.
 */
export async function startRestHub(
  dir: string,
  concurrency: number,
  extra: Partial<ConfigInput> = {},
): Promise<RestHub> {
  const pkb = await startPkbStandin({ accessTokenTtlSec: 3600, patients: [ANN] });
  const dataDir = join(dir, "data");
  const secretFile = join(dir, "client-secret");
  writeFileSync(secretFile, "test-secret\n", { mode: 0o600 });
  const raw: ConfigInput = {
    hub: { id: "bench-hub", timeZone: "Europe/London", dataDir },
    clock: { mode: "assume-synced" },
    patients: [{ key: BENCH_PATIENT, route: "pkb-rest", nhsNumber: ANN.nhsNumber }],
    routes: {
      pkbRest: { baseUrl: pkb.url, clientId: "pkb-hub-test", clientSecretFile: secretFile, concurrency },
    },
    ...extra,
  };
  const config = parseConfig(raw);
  let shown: URL | undefined;
  await linkPatient({
    route: config.routes.pkbRest as NonNullable<Config["routes"]["pkbRest"]>,
    patient: config.patients[0] as Config["patients"][number],
    store: tokenStore(dataDir),
    clock: new SystemClock({ mode: "assume-synced" }),
    mode: "paste",
    show: (u) => {
      shown = u;
    },
    paste: async () => (await pkb.approve(shown as URL, ANN.id)).href,
  });
  return { pkb, raw, config };
}
