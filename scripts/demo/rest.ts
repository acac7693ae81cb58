import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { linkPatient } from "../../src/forward/pkb-rest/link.js";
import { tokenStore } from "../../src/forward/pkb-rest/route.js";
import { type PkbStandin, startPkbStandin } from "../../test/standin/pkb.js";
import type { DemoRoute } from "./types.js";

const DEMO_PATIENT = {
  id: "pkb-demo-0001",
  firstName: "Demo",
  lastName: "Patient",
  dob: "1950-01-31",
  gender: "F",
  nhsNumber: "9434765919",
};

/**
 * The REST route's demo: a PKB stand-in (oidc-provider at PKB's OAuth paths + measurement API), and
 * the demo patient linked through OAuth (code + PKCE, Users API, NHS number check) once the agent
 * runs, as a technician would with `pkb-hub link`. Until then the readings wait in the outbox
 * (nothing is claimed for a patient without a link); the link starts delivery at once.
 */
export function createDemoRoute(): DemoRoute {
  let pkb: PkbStandin | undefined;
  return {
    name: "rest",
    async configure(config, dataDir) {
      pkb = await startPkbStandin({ accessTokenTtlSec: 600 });
      pkb.addPatient(DEMO_PATIENT);
      const secretFile = join(dataDir, "client-secret");
      writeFileSync(secretFile, "test-secret\n", { mode: 0o600 });
      config.patients = [{ key: "demo-patient", route: "pkb-rest", nhsNumber: DEMO_PATIENT.nhsNumber }];
      config.routes = {
        pkbRest: {
          baseUrl: pkb.url,
          clientId: "pkb-hub-test",
          clientSecretFile: secretFile,
          redirectUri: "http://127.0.0.1:8765/callback",
        },
      };
    },
    async afterStart(agent) {
      const standin = pkb;
      const route = agent.ctx.config.routes.pkbRest;
      const patient = agent.ctx.config.patients.find((p) => p.key === "demo-patient");
      if (!standin || !route || !patient) throw new Error("demo config lacks the REST route");
      // Paste mode, with the patient's browser played on the stand-in's approve page.
      let shown: URL | undefined;
      const link = await linkPatient({
        route,
        patient,
        store: tokenStore(agent.ctx.dataDir),
        clock: agent.ctx.clock,
        fetch: agent.ctx.fetch,
        mode: "paste",
        show: (url) => {
          shown = url;
        },
        paste: async () => {
          if (!shown) throw new Error("no authorization URL was shown");
          return (await standin.approve(shown, DEMO_PATIENT.id)).href;
        },
        timeoutMs: 30_000,
      });
      agent.ctx.pokeRoutes();
      process.stdout.write(
        `demo patient linked to PKB account ${link.pkbId} (OAuth code + PKCE, NHS number checked)\n`,
      );
    },
    received: async () => pkb?.records(DEMO_PATIENT.id).length ?? 0,
    async describe() {
      const records = pkb?.records(DEMO_PATIENT.id) ?? [];
      const byType = new Map<string, number>();
      for (const r of records) byType.set(r.type, (byType.get(r.type) ?? 0) + 1);
      const lines = [`stand-in ${pkb?.url ?? "?"}: POST /json/v1/measurements with the patient's own token`];
      lines.push(
        ...[...byType].map(([type, n]) => `${type}: ${n} measurement(s) in record ${DEMO_PATIENT.id}`),
      );
      for (const r of records.slice(0, 3)) {
        lines.push(
          `  ${r.observedDate}  ${r.values.map((v) => `${v.name}=${v.value} ${v.unit}`).join(", ")}`,
        );
      }
      if (records.length > 3) lines.push(`  … and ${records.length - 3} more`);
      return lines;
    },
    async stop() {
      await pkb?.stop();
    },
  };
}
