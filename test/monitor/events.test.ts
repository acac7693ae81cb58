import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/demo/mosquitto.js";
import type { Agent } from "../../src/agent/agent.js";
import { alertHint } from "../../src/core/alert-hints.js";
import type { FakeClock } from "../../src/core/clock.js";
import { finishReading } from "../../src/core/finish.js";
import type { Reading } from "../../src/core/reading.js";
import { type Hl7Standin, startHl7Standin } from "../standin/hl7/server.js";
import { bpReading } from "../support/buffer.js";
import { ANN } from "../support/pkb-patients.js";
import { until } from "../support/wait.js";
import { captureProblems, payloadProblems } from "./phi-check.js";
import { Capture, hl7Patient, hl7Route, monitorConfig, startAgent, suiteBroker } from "./support.js";

const suite = suiteBroker("pkb-mon-events-");

const T = "pkb-hub/hub-test";

describe("MQTT events from real conditions", () => {
  let agent: Agent | undefined;
  let cap: Capture | undefined;
  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
    await cap?.close();
    cap = undefined;
  });

  it("a corrupt buffer moved aside at start is published once on events (raised before the monitor subscribed)", async () => {
    const dataDir = join(suite.dir, "corrupt");
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, "buffer.db"), randomBytes(64 * 1024), { mode: 0o600 });
    cap = await Capture.open(suite.broker.url, [`${T}/events`, `${T}/health`]);
    agent = await startAgent(monitorConfig(dataDir, suite.broker.url));
    const c = cap;
    expect(await c.event(T, "BUFFER_CORRUPT")).toMatchObject({
      type: "alert-raised",
      code: "BUFFER_CORRUPT",
      hint: alertHint("BUFFER_CORRUPT"),
    });
    // Once: a later health (alert changes, the interval) brings no second event for it.
    await c.waitFor(() => c.on(`${T}/health`).length >= 1, 5000, "health");
    await new Promise((r) => setTimeout(r, 500));
    expect(c.json(`${T}/events`).filter((e) => e.code === "BUFFER_CORRUPT")).toHaveLength(1);
    // The alert's message (it names the moved-aside path) stays on the hub.
    expect(c.messages.some((m) => m.text.includes(dataDir))).toBe(false);
  });
});

/** PKB's refusal text: it names the patient, so it must stay in the hub's dead letter. */
const PKB_TEXT = "Ann Example 9434765919 not accepted: ward closed";
const PHI = ["Ann", "Example", ANN.nhsNumber, "943 476 5919", ANN.dob, "19500131", PKB_TEXT, "ward closed"];

describe("MQTT events from real conditions, end to end, with no PHI", () => {
  let cap: Capture;
  let pkb: Hl7Standin;
  const agents: Agent[] = [];
  /** Every value of every reading sent in this suite (whole numbers, as a BP monitor gives them). */
  const values = new Set<number>();
  let deadReasons: unknown[] = [];

  beforeAll(async () => {
    cap = await Capture.open(suite.broker.url, ["pkb-hub/#"]);
    pkb = await startHl7Standin();
  });
  afterAll(async () => {
    for (const a of agents) await a.stop();
    await cap?.close();
    await pkb?.stop();
  });

  async function hub(
    id: string,
    extra: Record<string, unknown>,
    options: Parameters<typeof startAgent>[1] = {},
  ) {
    const agent = await startAgent(
      {
        hub: { id, timeZone: "UTC", dataDir: join(suite.dir, id) },
        clock: { mode: "assume-synced" },
        monitor: { mqtt: { url: suite.broker.url, reconnectMaxSec: 1 } },
        ...extra,
      },
      { conditionsMs: 200, ...options },
    );
    agents.push(agent);
    await cap.waitFor(() => cap.last(`pkb-hub/${id}/state`)?.state === "online", 10_000, `${id} online`);
    return agent;
  }

  /** A blood pressure reading, or one with a physically impossible systolic pressure. */
  function reading(agent: Agent, systolic?: number): Reading {
    const r = bpReading(agent.ctx.clock as FakeClock, undefined, "p1");
    const out =
      systolic === undefined
        ? r
        : finishReading(
            {
              kind: "blood-pressure",
              components: [
                { id: "bp-systolic", value: systolic, unit: "mm[Hg]" },
                { id: "bp-diastolic", value: 80, unit: "mm[Hg]" },
              ],
              seq: 1_000_000 + systolic,
            },
            {
              deviceId: "dev-1",
              driver: "test",
              patient: "p1",
              timeZone: "UTC",
              clock: agent.ctx.clock,
              receivedAtMs: agent.ctx.clock.nowMs(),
            },
          );
    for (const c of out.components) values.add(c.value);
    return out;
  }

  async function send(agent: Agent, r: Reading): Promise<void> {
    await agent.ctx.buffer.ingest([r]);
    agent.ctx.pokeRoutes();
  }

  /** The event on `events` (valid, with the code's fixed hint). */
  async function event(id: string, code: string, type: "alert-raised" | "alert-cleared" = "alert-raised") {
    const e = await cap.event(`pkb-hub/${id}`, code, type);
    expect(e).toMatchObject({ hub: id, type, code, hint: alertHint(code) });
    return e;
  }

  const byState = (agent: Agent) => agent.ctx.buffer.stats().byState;

  it("PKB refuses a reading over HL7 (AE, with a text naming the patient): a dead letter, and DEAD_LETTERS on events", async () => {
    const agent = await hub("hub-ev-hl7", {
      patients: [hl7Patient()],
      // hold: an unreadable answer waits for a person (AMBIGUOUS_DELIVERY, the test after this one);
      // the default, retract, would settle it by itself after retractAfterSec.
      routes: { hl7: { ...hl7Route(suite.dir, pkb.httpsUrl, pkb.caFile), onAmbiguous: "hold" } },
    });
    await send(agent, reading(agent));
    await until(() => byState(agent).delivered === 1, 15_000);
    pkb.injectFaults({ kind: "ack", code: "AE", text: PKB_TEXT });
    await send(agent, reading(agent));
    await until(() => byState(agent).dead === 1, 15_000);
    // The dead letter keeps PKB's text on the hub (so the capture check at the end is not vacuous).
    deadReasons = agent.ctx.buffer.db.prepare("SELECT reason FROM outbox WHERE state = 'dead'").pluck().all();
    expect(JSON.stringify(deadReasons)).toContain("ward closed");
    await event("hub-ev-hl7", "DEAD_LETTERS");
  });

  it("PKB takes an ORU and answers unreadably: held as ambiguous, and AMBIGUOUS_DELIVERY on events", async () => {
    const agent = agents[0] as Agent;
    pkb.injectFaults({ kind: "ack-variant", variant: "html-page" });
    await send(agent, reading(agent));
    await until(() => byState(agent).ambiguous === 1, 15_000);
    await event("hub-ev-hl7", "AMBIGUOUS_DELIVERY");
    // Every request after the first delivery was one ORU: the faults hit what they were aimed at.
    expect(pkb.registry.received.map((r) => r.type).filter((t) => t === "ORU^R01")).toHaveLength(3);
  });

  it("a physically impossible value from a device: quarantined, never sent, and QUARANTINED_READINGS on events", async () => {
    const agent = agents[0] as Agent;
    const before = pkb.requests();
    await send(agent, reading(agent, 900));
    await until(() => byState(agent).quarantined === 1, 15_000);
    await event("hub-ev-hl7", "QUARANTINED_READINGS");
    expect(pkb.requests()).toBe(before);
  });

  it("the buffer at its size cap with only unsent readings refuses new ones: BUFFER_FULL on events", async () => {
    // PKB unreachable (nothing listens on the route's port): nothing is delivered, nothing can be pruned.
    const agent = await hub("hub-ev-full", {
      patients: [hl7Patient()],
      routes: { hl7: hl7Route(suite.dir, `http://127.0.0.1:${await freePort()}/hl7`) },
      buffer: { maxSize: "400 KiB" },
    });
    let refused: unknown;
    for (let i = 0; i < 500 && !refused; i++) {
      try {
        await agent.ctx.buffer.ingest(Array.from({ length: 20 }, () => reading(agent)));
      } catch (err) {
        refused = err;
      }
    }
    expect(refused).toMatchObject({ code: "BUFFER_FULL" });
    await event("hub-ev-full", "BUFFER_FULL");
  });

  it("the hub clock not synchronised: CLOCK_UNSYNCED on events, cleared when synchronisation arrives", async () => {
    let synced = false;
    await hub(
      "hub-ev-clock",
      { clock: { mode: "auto", checkIntervalSec: 1 } },
      { syncProbe: async () => synced },
    );
    await event("hub-ev-clock", "CLOCK_UNSYNCED");
    synced = true;
    await event("hub-ev-clock", "CLOCK_UNSYNCED", "alert-cleared");
  });

  it("nothing captured during the run carries a name, NHS number, PKB's error text or a reading value (whole numbers as JSON numbers too)", async () => {
    for (const a of agents.splice(0)) await a.stop();
    await cap.waitFor(
      () => cap.last("pkb-hub/hub-ev-clock/state")?.state === "offline",
      10_000,
      "the last hub offline",
    );
    expect(values.size).toBeGreaterThan(10);
    expect(deadReasons).toHaveLength(1);
    expect(cap.messages.length).toBeGreaterThan(20);
    expect(captureProblems(cap.messages, { text: PHI, values: [...values] })).toEqual([]);
  });

  it("the capture check itself finds a whole-number reading value sent as a JSON number, in any field but a count", () => {
    const check = { text: PHI, values: [90, 36.6] };
    const base = { schemaVersion: 1, hub: "h", seq: 90, at: new Date(0).toISOString(), type: "alert-raised" };
    const ok = { topic: "pkb-hub/h/events", text: JSON.stringify({ ...base, code: "X", hint: "y" }) };
    expect(payloadProblems(ok, check)).toEqual([]); // a count (seq) may equal a value by chance
    const leak = {
      topic: "pkb-hub/h/events",
      text: JSON.stringify({ ...base, code: "X", hint: "y", value: 90 }),
    };
    expect(payloadProblems(leak, check)).toEqual(
      expect.arrayContaining(["pkb-hub/h/events: value carries the reading value 90"]),
    );
    const inString = {
      topic: "pkb-hub/h/events",
      text: JSON.stringify({ ...base, code: "X", hint: "glucose 90" }),
    };
    expect(payloadProblems(inString, check).join()).toContain("holds the reading value 90");
  });
});
