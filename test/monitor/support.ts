import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { connectAsync, type IClientOptions, type IPublishPacket, type MqttClient } from "mqtt";
import { afterAll, beforeAll } from "vitest";
import { type Mosquitto, type MosquittoOptions, startMosquitto } from "../../scripts/demo/mosquitto.js";
import { Agent } from "../../src/agent/agent.js";
import { parseConfig } from "../../src/config/load.js";
import type { ConfigInput } from "../../src/config/schema.js";
import type { SyncProbe } from "../../src/core/clock.js";
import { type Logger, silentLogger } from "../../src/core/log.js";
import { eventSchema } from "../../src/monitor/schemas.js";
import { ANN } from "../support/pkb-patients.js";
import { tempDir } from "../support/tmp.js";

/** The built CLI (suites that spawn it need `npm run build` first). */
export const CLI = join(import.meta.dirname, "../../dist/src/cli/main.js");

/** A temp directory and a real mosquitto for one suite (started before it, stopped after it). */
export function suiteBroker(prefix: string, options: Omit<MosquittoOptions, "dir"> = {}) {
  const tmp = tempDir(prefix);
  let broker: Mosquitto | undefined;
  beforeAll(async () => {
    broker = await startMosquitto({ dir: tmp.dir, ...options });
  });
  afterAll(async () => {
    await broker?.stop();
    tmp.cleanup();
  });
  return {
    dir: tmp.dir,
    get broker(): Mosquitto {
      if (!broker) throw new Error("broker not started");
      return broker;
    },
  };
}

/** The stand-in's test patient on the HL7 route, under a local key. */
export function hl7Patient(key = "p1") {
  const { nhsNumber, firstName, lastName, dob } = ANN;
  return { key, route: "hl7" as const, nhsNumber, firstName, lastName, dob, sex: "F" as const };
}

/** routes.hl7 for `url`, its password file written into `dir`. */
export function hl7Route(dir: string, url: string, caFile?: string) {
  const passwordFile = join(dir, "hl7-password");
  writeFileSync(passwordFile, "partner-password\n", { mode: 0o600 });
  return {
    url,
    ...(caFile ? { caFile } : {}),
    username: "partner",
    passwordFile,
    sendingFacility: "DEMOALIAS",
  };
}

export interface Captured {
  topic: string;
  text: string;
  retain: boolean;
  properties: IPublishPacket["properties"];
  atMs: number;
}

/** A real subscriber: every message on `filters` kept in arrival order. */
export class Capture {
  readonly messages: Captured[] = [];

  private constructor(readonly client: MqttClient) {
    client.on("message", (topic, payload, packet) =>
      this.messages.push({
        topic,
        text: payload.toString("utf8"),
        retain: packet.retain,
        properties: packet.properties,
        atMs: Date.now(),
      }),
    );
  }

  static async open(url: string, filters: string[], options: IClientOptions = {}): Promise<Capture> {
    const client = await connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0, ...options });
    const capture = new Capture(client);
    await client.subscribeAsync(filters, { qos: 1 });
    return capture;
  }

  on(topic: string): Captured[] {
    return this.messages.filter((m) => m.topic === topic);
  }

  json(topic: string): Array<Record<string, unknown>> {
    return this.on(topic).map((m) => JSON.parse(m.text) as Record<string, unknown>);
  }

  last(topic: string): Record<string, unknown> | undefined {
    return this.json(topic).at(-1);
  }

  async waitFor<T>(
    find: () => T | undefined | false | Promise<T | undefined | false>,
    ms = 10_000,
    what = "a message",
  ): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const found = await find();
      if (found !== undefined && found !== false) return found;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** The first `type` event for `code` on `<prefix>/events`, checked against the event schema. */
  async event(
    prefix: string,
    code: string,
    type: "alert-raised" | "alert-cleared" = "alert-raised",
    ms = 15_000,
  ) {
    const found = await this.waitFor(
      () => this.json(`${prefix}/events`).find((e) => e.code === code && e.type === type),
      ms,
      `${type} ${code} on ${prefix}/events`,
    );
    return eventSchema.parse(found);
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

/** Config of an agent with only the monitor (no routes, no devices) on `url`. */
export function monitorConfig(dataDir: string, url: string, mqtt: Record<string, unknown> = {}): ConfigInput {
  return {
    hub: { id: "hub-test", timeZone: "UTC", dataDir },
    clock: { mode: "assume-synced" },
    monitor: { mqtt: { url, reconnectMaxSec: 1, ...mqtt } },
  };
}

export async function startAgent(
  input: ConfigInput,
  options: {
    configFile?: string;
    logger?: Logger;
    conditionsMs?: number;
    healthIntervalSec?: number;
    /** How the system clock learns it is synchronised (with clock.mode auto). */
    syncProbe?: SyncProbe;
  } = {},
): Promise<Agent> {
  const config = parseConfig(input);
  if (options.healthIntervalSec && config.monitor.mqtt)
    config.monitor.mqtt.healthIntervalSec = options.healthIntervalSec;
  const agent = new Agent({
    config,
    logger: options.logger ?? silentLogger(),
    ...(options.configFile ? { configFile: options.configFile } : {}),
    ...(options.conditionsMs ? { conditionsMs: options.conditionsMs } : {}),
    ...(options.syncProbe ? { syncProbe: options.syncProbe } : {}),
  });
  await agent.start();
  return agent;
}
