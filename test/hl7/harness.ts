import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach } from "vitest";
import type { AgentContext } from "../../src/agent/context.js";
import type { HubBuffer } from "../../src/buffer/buffer.js";
import { parseConfig } from "../../src/config/load.js";
import type { Config, PatientConfig } from "../../src/config/schema.js";
import { FakeClock } from "../../src/core/clock.js";
import { finishReading } from "../../src/core/finish.js";
import { silentLogger } from "../../src/core/log.js";
import type { Reading, ReadingDraft } from "../../src/core/reading.js";
import { Hl7Forwarder } from "../../src/forward/hl7/forwarder.js";
import { patientStateKey } from "../../src/forward/hl7/patients.js";
import { soapClient } from "../../src/forward/hl7/route.js";
import { type Hl7Standin, startHl7Standin } from "../standin/hl7/server.js";
import { makeBuffer } from "../support/buffer.js";
import { tempDir } from "../support/tmp.js";

export const NHS = "9434765919";

/** One stand-in, buffer and forwarder per test, over HTTPS on loopback with the stand-in's own CA. */
export class Hl7Harness {
  tmp!: ReturnType<typeof tempDir>;
  pkb!: Hl7Standin;
  buffer!: HubBuffer;
  clock = new FakeClock(Date.now());
  forwarder: Hl7Forwarder | undefined;
  /** The local key of the test patient (config and readings). */
  patientKey = "hl7-a";
  private n = 0;

  async setUp(): Promise<void> {
    this.tmp = tempDir("pkb-hl7-");
    this.pkb = await startHl7Standin({ captureDir: join(this.tmp.dir, "capture") });
    ({ buffer: this.buffer } = makeBuffer(join(this.tmp.dir, "data"), {
      clock: this.clock,
      routeOf: () => "hl7",
    }));
    writeFileSync(join(this.tmp.dir, "password"), "partner-password\n", { mode: 0o600 });
  }

  async tearDown(): Promise<void> {
    await this.forwarder?.stop();
    this.forwarder = undefined;
    this.buffer.close();
    await this.pkb.stop();
    this.tmp.cleanup();
  }

  config(hl7: Record<string, unknown> = {}, patient: Partial<PatientConfig> = {}): Config {
    return parseConfig({
      hub: { id: "h", timeZone: "Europe/London", dataDir: this.tmp.dir },
      patients: [
        {
          key: this.patientKey,
          route: "hl7",
          nhsNumber: NHS,
          firstName: "Ann",
          lastName: "Example",
          dob: "1950-01-31",
          sex: "F",
          ...patient,
        },
      ],
      routes: {
        hl7: {
          url: this.pkb.httpsUrl,
          caFile: this.pkb.caFile,
          username: "partner",
          passwordFile: join(this.tmp.dir, "password"),
          sendingFacility: "DEMOALIAS",
          maxObservationsPerMessage: 10,
          requestTimeoutMs: 400,
          ...hl7,
        },
      },
    });
  }

  start(cfg = this.config(), patients: PatientConfig[] = cfg.patients): void {
    const route = cfg.routes.hl7 as NonNullable<Config["routes"]["hl7"]>;
    this.forwarder = new Hl7Forwarder({
      buffer: this.buffer,
      clock: this.clock,
      logger: silentLogger(),
      route,
      patients,
      timeZone: cfg.hub.timeZone,
      hubId: cfg.hub.id,
      client: soapClient(route),
      idleMs: 10,
    });
    this.forwarder.start();
  }

  async restart(cfg = this.config()): Promise<void> {
    await this.forwarder?.stop();
    this.start(cfg);
  }

  /**
   * The agent restarted: the forwarder stopped, the buffer closed and opened again from its file
   * (leases of the old process reclaimed, as the agent does at start), a new forwarder started.
   */
  async reopen(cfg = this.config()): Promise<void> {
    await this.forwarder?.stop();
    this.forwarder = undefined;
    this.buffer.close();
    ({ buffer: this.buffer } = makeBuffer(join(this.tmp.dir, "data"), {
      clock: this.clock,
      routeOf: () => "hl7",
    }));
    this.buffer.outbox.reclaimAll();
    this.start(cfg);
  }

  /** What the agent hands its routes, here with this harness's buffer, clock and `config`. */
  context(config: Config = this.config()): AgentContext {
    return {
      config,
      buffer: this.buffer,
      clock: this.clock,
      logger: silentLogger(),
      dataDir: this.tmp.dir,
      fetch,
      pokeRoutes: () => {},
    };
  }

  /** A blood pressure reading (two observations) for the test patient, or the reading `draft` describes. */
  reading(draft?: Omit<ReadingDraft, "seq">): Reading {
    const n = ++this.n;
    return finishReading(
      {
        ...(draft ?? {
          kind: "blood-pressure",
          components: [
            { id: "bp-systolic", value: 100 + n, unit: "mm[Hg]" },
            { id: "bp-diastolic", value: 80, unit: "mm[Hg]" },
          ],
        }),
        seq: n,
      },
      {
        deviceId: "d",
        driver: "t",
        patient: this.patientKey,
        timeZone: "Europe/London",
        clock: this.clock,
        receivedAtMs: this.clock.nowMs(),
      },
    );
  }

  readings(count: number): Reading[] {
    return Array.from({ length: count }, () => this.reading());
  }

  /** PKB already holds the test patient's record (A19 finds them). */
  knownToPkb(): void {
    this.pkb.registry.patients.set(NHS, {
      nhsNumber: NHS,
      firstName: "A",
      lastName: "E",
      dob: "1950-01-31",
      sex: "F",
    });
  }

  /** …and the hub has already asked (no A19 before the next ORU). */
  knownToHub(facility = "DEMOALIAS"): void {
    this.knownToPkb();
    this.buffer.kvSet(patientStateKey(facility, NHS), "known");
  }

  types(): string[] {
    return this.pkb.registry.received.map((r) => r.type);
  }

  observations(): number {
    return this.pkb.registry.observationsFor(NHS).length;
  }

  stats() {
    return this.buffer.stats();
  }

  /** The outbox column of every row, in id order. */
  column(name: "attempts" | "ambiguous" | "last_error" | "available_ms" | "state"): unknown[] {
    return this.buffer.db.prepare(`SELECT ${name} FROM outbox ORDER BY id`).pluck().all();
  }

  /** Captured messages as written by the stand-in, in order. */
  captures(): Array<{ name: string; text: string }> {
    return this.pkb.captured().map((name) => ({
      name,
      text: readFileSync(join(this.tmp.dir, "capture", name), "utf8"),
    }));
  }
}

/** Registers per-test set-up and tear-down; the returned harness is fresh in each test. */
export function useHl7Harness(): { readonly h: Hl7Harness } {
  let current: Hl7Harness | undefined;
  beforeEach(async () => {
    current = new Hl7Harness();
    await current.setUp();
  });
  afterEach(async () => {
    await current?.tearDown();
    current = undefined;
  });
  return {
    get h(): Hl7Harness {
      if (!current) throw new Error("harness used outside a test");
      return current;
    },
  };
}
