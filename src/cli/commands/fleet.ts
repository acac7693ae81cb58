import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { IClientOptions, MqttClient } from "mqtt";
import { brokerUrlProblem } from "../../config/routes.js";
import { HubError, messageOf } from "../../core/errors.js";
import { readSecretFile } from "../../core/secrets.js";
import { FleetView } from "../../monitor/fleet.js";
import { renderFleet } from "../../monitor/render.js";
import { monitorJsonSchemas } from "../../monitor/schemas.js";
import { type CliIo, type Command, parse, requireOption } from "../io.js";

function readFile(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new HubError("USAGE", `cannot read ${flag} ${file}: ${messageOf(err)}`);
  }
}

interface WatchOptions {
  url: string;
  baseTopic: string;
  json: boolean;
  once: boolean;
  waitMs: number;
  refreshMs: number;
  limit: number | undefined;
  client: IClientOptions;
}

function positive(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0 || n > 86_400_000)
    throw new HubError("USAGE", `${flag} must be a positive integer`);
  return n;
}

function watchOptions(args: string[]): WatchOptions {
  const { values } = parse(args, {
    "mqtt-url": { type: "string" },
    "base-topic": { type: "string" },
    ca: { type: "string" },
    cert: { type: "string" },
    key: { type: "string" },
    username: { type: "string" },
    "password-file": { type: "string" },
    json: { type: "boolean" },
    once: { type: "boolean" },
    "wait-ms": { type: "string" },
    "refresh-ms": { type: "string" },
    limit: { type: "string" },
  });
  const url = requireOption(values["mqtt-url"], "--mqtt-url URL");
  const problem = brokerUrlProblem(url);
  if (problem) throw new HubError("USAGE", `--mqtt-url ${problem}`);
  if ((values.cert === undefined) !== (values.key === undefined))
    throw new HubError("USAGE", "--cert and --key go together");
  const client: IClientOptions = {
    protocolVersion: 5,
    clean: true,
    reconnectPeriod: 2000,
    connectTimeout: 10_000,
    rejectUnauthorized: true,
    clientId: `pkb-hub-fleet-${process.pid}-${Date.now().toString(36)}`,
  };
  if (values.ca) client.ca = readFile(values.ca, "--ca");
  if (values.cert) client.cert = readFile(values.cert, "--cert");
  if (values.key) client.key = readFile(values.key, "--key");
  if (values.username) client.username = values.username;
  if (values["password-file"]) client.password = readSecretFile(values["password-file"]);
  return {
    url,
    baseTopic: values["base-topic"] ?? "pkb-hub",
    json: values.json === true,
    once: values.once === true,
    waitMs: positive(values["wait-ms"], "--wait-ms", 2000),
    refreshMs: positive(values["refresh-ms"], "--refresh-ms", 1000),
    limit: values.limit === undefined ? undefined : positive(values.limit, "--limit", 0),
    client,
  };
}

async function connect(o: WatchOptions, io: CliIo): Promise<MqttClient> {
  // Loaded here only: the CLI's other commands do not pay for the mqtt package.
  const { connect } = await import("mqtt");
  const client = connect(o.url, o.client);
  client.on("error", (err) => io.err(`fleet watch: broker: ${err.message}`));
  client.subscribe([`${o.baseTopic}/+/state`, `${o.baseTopic}/+/health`, `${o.baseTopic}/+/events`], {
    qos: 1,
  });
  return client;
}

export const fleetWatch: Command = {
  name: "fleet watch",
  usage:
    "pkb-hub fleet watch --mqtt-url URL [--ca F] [--cert F --key F] [--username U --password-file F] [--base-topic T] [--json] [--once [--wait-ms N]] [--refresh-ms N] [--limit N]",
  summary: "live table of the hubs on a broker: state, unsent, oldest unsent, dead letters, alerts",
  async run(args, io) {
    const o = watchOptions(args);
    const view = new FleetView(o.baseTopic);
    const changed = new Set<string>();
    const client = await connect(o, io);
    client.on("message", (topic, payload) => {
      const hub = view.ingest(topic, payload);
      if (hub) changed.add(hub);
    });
    // Colour and redrawing only on a terminal (and never with NO_COLOR): piped output stays plain.
    const tty = process.stdout.isTTY === true && !io.env.NO_COLOR;
    const draw = () => {
      if (o.json) {
        for (const row of view.rows()) if (changed.has(row.hub)) io.out(JSON.stringify(row));
      } else {
        const lines = renderFleet(view.rows(), {
          color: tty,
          nowMs: Date.now(),
          ...(o.limit ? { limit: o.limit } : {}),
        });
        io.out(tty ? `\x1b[H\x1b[2J${lines.join("\n")}` : `${lines.join("\n")}\n`);
      }
      changed.clear();
    };
    if (o.once) {
      // Retained state and health arrive at once on subscribe; events only as they happen.
      await new Promise((r) => setTimeout(r, o.waitMs));
      if (o.json) io.out(JSON.stringify(view.rows()));
      else io.out(renderFleet(view.rows(), { color: tty, nowMs: Date.now() }).join("\n"));
      await client.endAsync(true);
      return 0;
    }
    const timer = setInterval(() => changed.size > 0 && draw(), o.refreshMs);
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    clearInterval(timer);
    await client.endAsync(true);
    return 0;
  },
};

export const fleetSchema: Command = {
  name: "fleet schema",
  usage: "pkb-hub fleet schema --out-dir DIR",
  summary: "write the JSON Schemas of every MQTT payload (state, health, event, request, response)",
  async run(args, io) {
    const { values } = parse(args, { "out-dir": { type: "string" } });
    const dir = requireOption(values["out-dir"], "--out-dir DIR");
    mkdirSync(dir, { recursive: true });
    for (const [name, schema] of Object.entries(monitorJsonSchemas())) {
      writeFileSync(join(dir, name), `${JSON.stringify(schema, null, 2)}\n`);
      io.out(join(dir, name));
    }
    return 0;
  },
};
