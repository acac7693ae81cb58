import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { PatientConfig } from "../../src/config/schema.js";
import type { Clock } from "../../src/core/clock.js";
import { linkPatient } from "../../src/forward/pkb-rest/link.js";
import type { PkbRestConfig } from "../../src/forward/pkb-rest/oauth.js";
import { tokenStore } from "../../src/forward/pkb-rest/route.js";
import { approveAs } from "../../test/standin/pkb-oauth.js";

/** The PKB account every chaos run delivers into (a valid NHS number; no real person). */
export const CHAOS_PATIENT = {
  id: "pkb-chaos",
  firstName: "Chaos",
  lastName: "Test",
  dob: "1950-01-31",
  gender: "F",
  nhsNumber: "9434765919",
};

/** Links the local patient to the chaos account as a technician would (paste mode, patient approves). */
export async function linkChaosPatient(
  route: PkbRestConfig,
  patient: PatientConfig,
  dataDir: string,
  clock: Clock,
): Promise<void> {
  let shown: URL | undefined;
  await linkPatient({
    route,
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

/** The REST route a chaos agent delivers on: the stand-in at `baseUrl`, its client secret written into `dir`. */
export function chaosRestRoute(baseUrl: string, dir: string, more: Record<string, number> = {}) {
  const clientSecretFile = join(dir, "client-secret");
  writeFileSync(clientSecretFile, "test-secret\n", { mode: 0o600 });
  return { baseUrl, clientId: "pkb-hub-test", clientSecretFile, ...more };
}
