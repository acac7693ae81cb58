import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { HubBuffer } from "../../src/buffer/buffer.js";
import { parseConfig } from "../../src/config/load.js";
import type { Config, PatientConfig } from "../../src/config/schema.js";
import { FakeClock } from "../../src/core/clock.js";
import { finishReading } from "../../src/core/finish.js";
import type { Reading } from "../../src/core/reading.js";
import { type LinkOptions, linkPatient } from "../../src/forward/pkb-rest/link.js";
import type { PkbRestConfig } from "../../src/forward/pkb-rest/oauth.js";
import { tokenStore } from "../../src/forward/pkb-rest/route.js";
import type { PatientLink, TokenStore } from "../../src/forward/pkb-rest/token-store.js";
import { type PkbStandin, startPkbStandin } from "../standin/pkb.js";
import type { PkbStandinOptions } from "../standin/pkb-api.js";
import { makeBuffer } from "./buffer.js";
import { ANN, BOB } from "./pkb-patients.js";
import { tempDir } from "./tmp.js";

/**
 * One PKB REST test setup: the stand-in (Ann and Bob known), a client secret file, a hub config with
 * REST patients, a buffer on a fake clock, the token store, and a helper that links a patient the way
 * a technician would. Suites override only what they test.
 */
export interface RestFixture {
  readonly dir: string;
  readonly dataDir: string;
  readonly pkb: PkbStandin;
  readonly buffer: HubBuffer;
  readonly clock: FakeClock;
  readonly secretFile: string;
  config: Config;
  route(): PkbRestConfig;
  /** Replaces fields of routes.pkbRest (after the schema: tests may build what the schema refuses). */
  setRoute(fields: Partial<PkbRestConfig>): void;
  patient(key?: string): PatientConfig;
  store(): TokenStore;
  /** Links a local patient in paste mode (or another mode) as `pkbPatient` approving (or denying). */
  link(
    pkbPatient?: string,
    options?: Partial<LinkOptions> & { decision?: "approve" | "deny" },
  ): Promise<PatientLink>;
  /** Writes the current config to a 0600 JSON file (for the CLI and spawned agents); its path. */
  writeConfig(): string;
  /** A weight reading for a patient; `n` makes it unique. */
  reading(n: number, patient?: string, flags?: Reading["flags"]): Reading;
  close(): Promise<void>;
}

export interface RestFixtureOptions {
  /** The hub's patients (raw config, before the schema); default p1 on pkb-rest with Ann's NHS number. */
  patients?: unknown[];
  /** Extra raw fields of routes.pkbRest. */
  route?: Record<string, unknown>;
  standin?: PkbStandinOptions;
}

export async function startRestFixture(o: RestFixtureOptions = {}): Promise<RestFixture> {
  const tmp = tempDir();
  const dataDir = join(tmp.dir, "data");
  const pkb = await startPkbStandin({ accessTokenTtlSec: 600, patients: [ANN, BOB], ...o.standin });
  const secretFile = join(tmp.dir, "client-secret");
  writeFileSync(secretFile, "test-secret\n", { mode: 0o600 });
  const config = parseConfig({
    hub: { id: "h", timeZone: "UTC", dataDir },
    patients: o.patients ?? [{ key: "p1", route: "pkb-rest", nhsNumber: ANN.nhsNumber }],
    routes: {
      pkbRest: {
        baseUrl: pkb.url,
        clientId: "pkb-hub-test",
        clientSecretFile: secretFile,
        redirectUri: "http://127.0.0.1:0/callback",
        revocationPath: "/apiRevoke.action",
        requestTimeoutMs: 2000,
        ...o.route,
      },
    },
  });
  const { buffer, clock } = makeBuffer(dataDir, { clock: new FakeClock(Date.now()) });
  const f: RestFixture = {
    dir: tmp.dir,
    dataDir,
    pkb,
    buffer,
    clock,
    secretFile,
    config,
    route: () => f.config.routes.pkbRest as PkbRestConfig,
    setRoute(fields) {
      f.config = { ...f.config, routes: { ...f.config.routes, pkbRest: { ...f.route(), ...fields } } };
    },
    patient(key = "p1") {
      const p = f.config.patients.find((c) => c.key === key);
      if (!p) throw new Error(`no patient ${key} in the test config`);
      return p;
    },
    store: () => tokenStore(dataDir),
    link(pkbPatient = ANN.id, options = {}) {
      const { decision = "approve", ...rest } = options;
      let shown: URL | undefined;
      return linkPatient({
        route: f.route(),
        patient: f.patient(),
        store: f.store(),
        clock,
        mode: "paste",
        show: (url) => {
          shown = url;
        },
        paste: async () => (await pkb.approve(shown as URL, pkbPatient, decision)).href,
        timeoutMs: 5000,
        ...rest,
      });
    },
    writeConfig() {
      const file = join(tmp.dir, "config.json");
      writeFileSync(file, JSON.stringify(f.config), { mode: 0o600 });
      return file;
    },
    reading: (n, patient = "p1", flags) =>
      finishReading(
        {
          kind: "weight",
          components: [{ id: "body-weight", value: 70 + n / 10, unit: "kg" }],
          seq: n,
          ...(flags ? { flags } : {}),
        },
        { deviceId: "scale", driver: "t", patient, timeZone: "UTC", clock, receivedAtMs: clock.nowMs() },
      ),
    async close() {
      buffer.close();
      await pkb.stop();
      tmp.cleanup();
    },
  };
  return f;
}
