import { writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { connectAsync, type MqttClient } from "mqtt";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { type Mosquitto, startMosquitto } from "../../scripts/demo/mosquitto.js";
import { Agent } from "../../src/agent/agent.js";
import { parseConfig } from "../../src/config/load.js";
import type { ConfigInput } from "../../src/config/schema.js";
import { FakeClock } from "../../src/core/clock.js";
import { parseRequest } from "../../src/monitor/commands.js";
import { eventSchema, healthBodySchema, responseSchema } from "../../src/monitor/schemas.js";
import { bpReading } from "../support/buffer.js";
import { ANN } from "../support/pkb-patients.js";
import { tempDir } from "../support/tmp.js";
import { Capture, hl7Patient, hl7Route } from "./support.js";

const T = "pkb-hub/hub-cmd";
const NHS = ANN.nhsNumber;
const tmp = tempDir("pkb-mon-cmd-");
const configFile = join(tmp.dir, "config.yaml");
const logger = pino({ level: "info" }, pino.destination({ dest: join(tmp.dir, "agent.log"), sync: true }));
let broker: Mosquitto;
let agent: Agent;
let ops: MqttClient;
let legacy: MqttClient;
let cap: Capture;

function input(overrides: Partial<ConfigInput> = {}): ConfigInput {
  return {
    hub: { id: "hub-cmd", timeZone: "UTC", dataDir: join(tmp.dir, "data") },
    clock: { mode: "assume-synced" },
    buffer: { backoffBaseMs: 3_600_000 },
    patients: [hl7Patient()],
    devices: [
      { id: "meter-1", driver: "contour-serial", patient: "p1", serialPath: join(tmp.dir, "no-such-tty") },
    ],
    routes: { hl7: hl7Route(tmp.dir, "https://127.0.0.1:9/hl7") },
    monitor: { mqtt: { url: broker.url, reconnectMaxSec: 1 } },
    ...overrides,
  };
}

beforeAll(async () => {
  broker = await startMosquitto({ dir: tmp.dir });
  writeFileSync(configFile, stringify(input()), { mode: 0o600 });
  agent = new Agent({ config: parseConfig(input()), configFile, logger, clock: new FakeClock(Date.now()) });
  await agent.start();
  ops = await connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 0 });
  legacy = await connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0 });
  cap = await Capture.open(broker.url, [`${T}/response/#`, `${T}/events`, `${T}/state`]);
  await cap.waitFor(() => cap.last(`${T}/state`)?.state === "online", 10_000, "hub online");
});

afterAll(async () => {
  await Promise.all([cap?.close(), ops?.endAsync(), legacy?.endAsync()]);
  await agent?.stop();
  await broker?.stop();
  tmp.cleanup();
});

/** Sends one request and resolves with the next response on `on` (default response/<op>). */
async function request(
  op: string,
  payload: string | Buffer,
  options: { client?: MqttClient; on?: string; responseTopic?: string; correlationData?: Buffer } = {},
) {
  const on = options.on ?? options.responseTopic ?? `${T}/response/${op}`;
  const before = cap.on(on).length;
  const properties = {
    ...(options.responseTopic ? { responseTopic: options.responseTopic } : {}),
    ...(options.correlationData ? { correlationData: options.correlationData } : {}),
  };
  await (options.client ?? ops).publishAsync(`${T}/request/${op}`, payload, { qos: 1, properties });
  const message = await cap.waitFor(() => cap.on(on)[before], 5000, `a response on ${on}`);
  const body = JSON.parse(message.text) as Record<string, unknown>;
  responseSchema.parse(body);
  return { message, body };
}

describe("MQTT commands", () => {
  it("ping over MQTT 5: answered on the given response topic with the correlation data echoed", async () => {
    const { message, body } = await request("ping", "", {
      responseTopic: `${T}/response/ops-console-1`,
      correlationData: Buffer.from("corr-42"),
    });
    expect(message.properties?.correlationData?.toString()).toBe("corr-42");
    expect(body).toMatchObject({
      schemaVersion: 1,
      hub: "hub-cmd",
      op: "ping",
      ok: true,
      result: { pong: true },
    });
  });

  it("ping over MQTT 3.1.1: answered on response/ping with the transaction id echoed", async () => {
    const { body } = await request("ping", JSON.stringify({ transaction: "t-1" }), { client: legacy });
    expect(body).toMatchObject({ op: "ping", transaction: "t-1", ok: true });
  });

  it("status: the health snapshot with local keys and link state, no name, NHS number or date of birth", async () => {
    const { message, body } = await request("status", JSON.stringify({ transaction: 7 }));
    expect(body.transaction).toBe(7);
    const s = healthBodySchema.parse(body.result);
    expect(s.patients).toEqual([{ key: "p1", route: "hl7", link: "hl7-unknown" }]);
    expect(s.devices.map((d) => [d.id, d.driver, d.transport])).toEqual([
      ["meter-1", "contour-serial", "serial"],
    ]);
    for (const phi of [NHS, "Ann", "Example", "1950-01-31"]) expect(message.text).not.toContain(phi);
  });

  it("flush commits waiting readings and wakes the routes", async () => {
    const clock = agent.ctx.clock as FakeClock;
    const pending = agent.ctx.buffer.ingest([bpReading(clock, 1, "p1")]);
    const { body } = await request("flush", "{}");
    await pending;
    expect(body).toMatchObject({ ok: true, result: { flushed: true } });
    expect(agent.ctx.buffer.stats().unsent).toBe(1);
  });

  it("retry re-queues one dead letter by id or all of them; the PKB reason never leaves the hub", async () => {
    const db = agent.ctx.buffer.db;
    const id = db.prepare("SELECT id FROM outbox ORDER BY id DESC LIMIT 1").pluck().get() as number;
    const kill = () =>
      db
        .prepare("UPDATE outbox SET state = 'dead', reason = ? WHERE id = ?")
        .run(`PKB refused: patient Ann Example ${NHS} born 1950-01-31`, id);
    kill();
    expect((await request("retry", JSON.stringify({ id: id + 1000 }))).body).toMatchObject({
      ok: false,
      error: { code: "FAILED", message: `OUTBOX_STATE: there is no outbox row ${id + 1000}` },
    });
    expect((await request("retry", JSON.stringify({ id }))).body).toMatchObject({ result: { requeued: 1 } });
    kill();
    expect((await request("retry", JSON.stringify({ all: true }))).body).toMatchObject({
      result: { requeued: 1 },
    });
    expect(agent.ctx.buffer.stats().byState.dead).toBe(0);
    expect(cap.messages.some((m) => m.text.includes("PKB refused"))).toBe(false);
  });

  it("scan lists the devices seen, without values", async () => {
    const { body } = await request("scan", "");
    expect(body.result).toEqual({
      devices: [
        { id: "meter-1", driver: "contour-serial", transport: "serial", lastSeenAt: null, silent: false },
      ],
    });
  });

  it("log-level changes the level for a bounded time only", async () => {
    const { body } = await request("log-level", JSON.stringify({ level: "debug", durationSec: 1 }));
    expect(body).toMatchObject({ ok: true, result: { level: "debug" } });
    const until = Date.parse((body.result as { until: string }).until);
    expect(until - agent.ctx.clock.nowMs()).toBeGreaterThan(0);
    expect(until - agent.ctx.clock.nowMs()).toBeLessThanOrEqual(1000);
    expect(logger.level).toBe("debug");
    await cap.waitFor(() => logger.level === "info", 10_000, "the configured level back");
  });

  it("reload: a bad config is refused with every problem and an alert, the running one kept; a good one is applied", async () => {
    writeFileSync(configFile, "hub: { id: hub-cmd, timeZone: Mars/Olympus }\nbogus: 1\n", { mode: 0o600 });
    const bad = await request("reload", "");
    expect(bad.body).toMatchObject({ ok: false, error: { code: "CONFIG_INVALID" } });
    const problems = (bad.body.error as { problems: string[] }).problems;
    expect(problems).toEqual(
      expect.arrayContaining(["hub.timeZone: unknown IANA time zone", "(top level): unknown key(s): bogus"]),
    );
    await cap.waitFor(
      () => cap.json(`${T}/events`).find((e) => e.code === "CONFIG_RELOAD_FAILED"),
      3000,
      "event",
    );
    expect(agent.ctx.config.hub.timeZone).toBe("UTC");

    writeFileSync(
      configFile,
      stringify(input({ log: { level: "warn" }, hub: { id: "renamed", dataDir: "/x" } })),
      {
        mode: 0o600,
      },
    );
    const good = await request("reload", "");
    expect(good.body).toMatchObject({ ok: true, result: { applied: ["log"], restartNeeded: ["hub"] } });
    expect(agent.ctx.config.log.level).toBe("warn");
    expect(agent.ctx.config.hub.id).toBe("hub-cmd");
    const cleared = await cap.waitFor(
      () =>
        cap.json(`${T}/events`).find((e) => e.code === "CONFIG_RELOAD_FAILED" && e.type === "alert-cleared"),
      3000,
      "alert cleared",
    );
    expect(eventSchema.parse(cleared).hint).toContain("config check");
  });

  it("reload: a device added in the file is started, the others keep their last-seen time", async () => {
    const devices = [
      ...(input().devices ?? []),
      { id: "meter-2", driver: "contour-serial", patient: "p1", serialPath: join(tmp.dir, "no-such-tty-2") },
    ];
    writeFileSync(configFile, stringify(input({ devices })), { mode: 0o600 });
    const { body } = await request("reload", "");
    expect(body).toMatchObject({ ok: true, result: { applied: ["log", "devices"], restartNeeded: [] } });
    expect(agent.status().devices.map((d) => d.id)).toEqual(["meter-1", "meter-2"]);
  });

  it("reload: a valid config whose route cannot start (secret unreadable) is rolled back, the running route goes on", async () => {
    const routes = {
      hl7: { ...hl7Route(tmp.dir, "https://127.0.0.1:9/hl7"), passwordFile: join(tmp.dir, "gone") },
    };
    writeFileSync(configFile, stringify(input({ routes })), { mode: 0o600 });
    const { body } = await request("reload", "");
    expect(body).toMatchObject({ ok: false, error: { code: "CONFIG_INVALID" } });
    expect((body.error as { problems: string[] }).problems).toEqual([
      expect.stringMatching(
        /^the new configuration could not start: SECRET_UNREADABLE: cannot read secret file .*gone/,
      ),
    ]);
    expect(agent.ctx.config.routes.hl7?.passwordFile).toBe(join(tmp.dir, "hl7-password"));
    expect(agent.status().patients).toEqual([{ key: "p1", route: "hl7", link: "hl7-unknown" }]);
    expect(agent.ctx.buffer.alerts.has("CONFIG_RELOAD_FAILED")).toBe(true);
    writeFileSync(configFile, stringify(input()), { mode: 0o600 });
    expect((await request("reload", "")).body).toMatchObject({ ok: true });
  });

  const malformed: Array<[string, string, string | Buffer, string, RegExp]> = [
    ["an unknown op", "format-disk", "{}", "COMMAND_UNKNOWN", /unknown command; known: ping, status/],
    ["a payload that is not JSON", "ping", "ping!", "COMMAND_INVALID", /not JSON/],
    [
      "bytes that are not UTF-8",
      "ping",
      Buffer.from([0xff, 0xfe, 0x00, 0x81]),
      "COMMAND_INVALID",
      /not JSON/,
    ],
    ["a JSON array", "ping", "[1,2]", "COMMAND_INVALID", /JSON object/],
    ["a JSON string", "status", '"status"', "COMMAND_INVALID", /JSON object/],
    ["an unknown key", "ping", '{"run":"rm -rf /"}', "COMMAND_INVALID", /unknown key/],
    [
      "a config smuggled into reload",
      "reload",
      '{"config":{"patients":[]}}',
      "COMMAND_INVALID",
      /unknown key/,
    ],
    ["retry with neither id nor all", "retry", "{}", "COMMAND_INVALID", /exactly one/],
    ["retry with both id and all", "retry", '{"id":1,"all":true}', "COMMAND_INVALID", /exactly one/],
    ["retry with a negative id", "retry", '{"id":-3}', "COMMAND_INVALID", /id/],
    ["retry with a string id", "retry", '{"id":"1 OR 1=1"}', "COMMAND_INVALID", /id/],
    ["log-level silent", "log-level", '{"level":"silent"}', "COMMAND_INVALID", /level/],
    [
      "log-level for a day",
      "log-level",
      '{"level":"debug","durationSec":86400}',
      "COMMAND_INVALID",
      /durationSec/,
    ],
    [
      "a payload over 4 KiB",
      "ping",
      JSON.stringify({ pad: "x".repeat(5000) }),
      "COMMAND_INVALID",
      /larger than 4096/,
    ],
    ["a transaction that is an object", "ping", '{"transaction":{"a":1}}', "COMMAND_INVALID", /transaction/],
  ];
  for (const [what, op, payload, code, message] of malformed) {
    it(`malformed: ${what} gets ${code}, and the hub keeps answering`, async () => {
      const { body } = await request(op, payload);
      expect(body).toMatchObject({ ok: false, op, error: { code } });
      expect((body.error as { message: string }).message).toMatch(message);
      expect(body.transaction).toBeUndefined();
    });
  }

  it("malformed: the transaction id of a refused payload is still echoed, the values sent are not", async () => {
    const { message, body } = await request("retry", '{"transaction":"t-9","id":"Ann Example"}');
    expect(body).toMatchObject({ ok: false, transaction: "t-9", error: { code: "COMMAND_INVALID" } });
    expect(message.text).not.toContain("Ann Example");
  });

  it("malformed: a response topic outside the hub's own is refused (the hub is no reflector)", async () => {
    const { body } = await request("ping", "", {
      responseTopic: "pkb-hub/other-hub/state",
      on: `${T}/response/ping`,
    });
    expect(body).toMatchObject({ ok: false, error: { code: "RESPONSE_TOPIC_REFUSED" } });
    expect(cap.on("pkb-hub/other-hub/state")).toHaveLength(0);
  });

  it("malformed: a retained request is never run again when the hub reconnects", async () => {
    const before = cap.on(`${T}/response/flush`).length;
    await ops.publishAsync(`${T}/request/flush`, "{}", { qos: 1, retain: true });
    await cap.waitFor(() => cap.on(`${T}/response/flush`).length > before, 5000, "the live one answered");
    // Take the hub's session over: it is disconnected, reconnects, re-subscribes, and the broker
    // hands it the retained request.
    const intruder = await connectAsync(broker.url, { clientId: "pkb-hub-hub-cmd", reconnectPeriod: 0 });
    await intruder.endAsync();
    const online = cap.on(`${T}/state`).length;
    await cap.waitFor(
      () => cap.on(`${T}/state`).length >= online + 1 && cap.last(`${T}/state`)?.state === "online",
    );
    await request("ping", "");
    expect(cap.on(`${T}/response/flush`).length - before).toBe(1);
    await ops.publishAsync(`${T}/request/flush`, "", { qos: 1, retain: true }); // clears the retained copy
  });

  it("malformed: a burst of 1000 garbage requests gets a bounded number of refusals, and the hub still pings", async () => {
    const before = cap.on(`${T}/response/status`).length;
    await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        ops.publishAsync(`${T}/request/status`, `{"x":${i}`, { qos: 1 }),
      ),
    );
    // Once the flood has passed, the hub answers again (an answer to a ping sent mid-flood may be refused or dropped).
    const pong = await cap.waitFor(
      async () => {
        const tx = `after-flood-${Date.now()}`;
        await ops.publishAsync(`${T}/request/ping`, JSON.stringify({ transaction: tx }), { qos: 1 });
        await new Promise((r) => setTimeout(r, 300));
        return cap.json(`${T}/response/ping`).find((a) => a.transaction === tx && a.ok === true);
      },
      10_000,
      "a pong after the flood",
    );
    expect(pong.ok).toBe(true);
    const answers = cap.json(`${T}/response/status`).slice(before);
    // Never more than the commands waiting plus the answers in flight per burst: nothing piles up.
    expect(answers.length).toBeGreaterThanOrEqual(8);
    expect(answers.length).toBeLessThan(1000);
    expect(answers.every((a) => a.ok === false)).toBe(true);
    const codes = new Set(answers.map((a) => (a.error as { code: string }).code));
    expect([...codes].every((c) => c === "COMMAND_INVALID" || c === "COMMAND_BUSY")).toBe(true);
  });

  it("parseRequest never throws, whatever the op and bytes", () => {
    fc.assert(
      fc.property(fc.string(), fc.uint8Array({ maxLength: 300 }), (op, bytes) => {
        const r = parseRequest(op, bytes);
        expect(typeof r.ok).toBe("boolean");
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.constantFrom("ping", "retry", "log-level", "reload"), fc.json(), (op, json) => {
        const r = parseRequest(op, Buffer.from(json));
        expect(typeof r.ok).toBe("boolean");
      }),
      { numRuns: 2000 },
    );
  });
});
