/**
 * `npm run demo`: the whole path on one machine with nothing configured — a simulated device on a
 * real serial transport, the agent with its SQLite buffer, and a local PKB stand-in — then shows
 * what arrived in the stand-in's record and what the outbox holds. Last line:
 * `DEMO route=R produced=N delivered=N dead_letter=N`.
 */
import { mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { stringify } from "yaml";
import { Agent } from "../../src/agent/agent.js";
import { parseConfig } from "../../src/config/load.js";
import type { ConfigInput } from "../../src/config/schema.js";
import { createLogger } from "../../src/core/log.js";
import { type DemoFleet, startDemoFleet } from "./fleet.js";
import { demoCounts, demoSettled } from "./progress.js";
import type { DemoRoute } from "./types.js";

interface DemoArgs {
  route: "rest" | "hl7";
  readings: number;
  dataDir: string;
  captureDir?: string;
  mqttUrl?: string;
  hubId: string;
  timeoutSec: number;
  /** Pause before each frame of the simulated meter (a slow meter; 0 = as fast as the port goes). */
  meterDelayMs: number;
}

function parse(argv: string[]): DemoArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      route: { type: "string", default: "rest" },
      readings: { type: "string", default: "20" },
      "data-dir": { type: "string" },
      "capture-dir": { type: "string" },
      "mqtt-url": { type: "string" },
      "hub-id": { type: "string", default: "demo-hub" },
      "timeout-sec": { type: "string", default: "120" },
      "meter-delay-ms": { type: "string", default: "0" },
    },
    strict: true,
  });
  const route = values.route;
  if (route !== "rest" && route !== "hl7") throw new Error("--route must be rest or hl7");
  const readings = Number(values.readings);
  if (!Number.isInteger(readings) || readings < 1 || readings > 100_000)
    throw new Error("--readings must be 1..100000");
  const timeoutSec = Number(values["timeout-sec"]);
  if (!Number.isFinite(timeoutSec) || timeoutSec <= 0)
    throw new Error("--timeout-sec must be a positive number");
  const meterDelayMs = Number(values["meter-delay-ms"]);
  if (!Number.isInteger(meterDelayMs) || meterDelayMs < 0 || meterDelayMs > 2000)
    throw new Error("--meter-delay-ms must be 0..2000");
  mkdirSync(resolve(".demo-data"), { recursive: true, mode: 0o700 });
  const dataDir = values["data-dir"]
    ? resolve(values["data-dir"])
    : mkdtempSync(resolve(".demo-data", "run-"));
  const hubId = values["hub-id"];
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(hubId))
    throw new Error("--hub-id must be 1-64 letters, digits, '_', '.' or '-'");
  return {
    route,
    readings,
    dataDir,
    hubId,
    timeoutSec,
    meterDelayMs,
    ...(values["capture-dir"] ? { captureDir: resolve(values["capture-dir"]) } : {}),
    ...(values["mqtt-url"] ? { mqttUrl: values["mqtt-url"] } : {}),
  };
}

/**
 * The route's demo part lives in ./rest.js or ./hl7.js. Until a route is built, the demo falls back
 * to the buffer alone: readings are stored in the outbox and shown, nothing is delivered.
 */
async function loadRoute(name: "rest" | "hl7", say: (line: string) => void): Promise<DemoRoute> {
  const specifier = `./${name}.js`;
  try {
    const mod = (await import(specifier)) as { createDemoRoute: () => DemoRoute };
    return mod.createDemoRoute();
  } catch (err) {
    if ((err as { code?: string }).code !== "ERR_MODULE_NOT_FOUND") throw err;
    say(`route ${name} is not built yet: readings stay in the buffer's outbox (nothing is delivered)`);
    return bufferOnlyRoute();
  }
}

function bufferOnlyRoute(): DemoRoute {
  return {
    name: "buffer",
    async configure(config) {
      config.patients = [{ key: "demo-patient", route: "pkb-rest" }];
      config.routes = {
        pkbRest: { baseUrl: "http://127.0.0.1:9", clientId: "demo", clientSecretFile: "/nonexistent" },
      };
    },
    received: async () => 0,
    describe: async () => ["(no PKB route in this build: see the outbox above)"],
    stop: async () => {},
  };
}

/** Files in the data directory readable or writable by group/others (there must be none). */
function exposedFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    if ((statSync(path).mode & 0o077) !== 0) out.push(path);
  }
  if ((statSync(dir).mode & 0o077) !== 0) out.push(dir);
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<number> {
  const args = parse(process.argv.slice(2));
  process.umask(0o077);
  mkdirSync(args.dataDir, { recursive: true, mode: 0o700 });
  const say = (line: string) => process.stdout.write(`${line}\n`);
  say(`pkb-hub demo: route=${args.route} readings=${args.readings} data=${args.dataDir}`);

  const route = await loadRoute(args.route, say);
  const input: ConfigInput = {
    hub: { id: args.hubId, timeZone: "Europe/London", dataDir: args.dataDir },
    // A container or laptop has no NTP status to read; a real hub keeps the default `auto`.
    clock: { mode: "assume-synced" },
    log: { level: "info" },
    buffer: { backoffBaseMs: 200, backoffMaxMs: 5000 },
    devices: [
      {
        id: "demo-glucose-meter",
        driver: "contour-serial",
        patient: "demo-patient",
        simulate: true,
        options: { records: args.readings, frameDelayMs: args.meterDelayMs },
      },
    ],
  };
  let agent: Agent | undefined;
  let fleet: DemoFleet | undefined;
  try {
    fleet = await startDemoFleet(args.hubId, args.mqttUrl, say);
    // Fleet health every 5 s so a short demo shows a few; a real hub keeps the default (60 s).
    if (fleet) input.monitor = { mqtt: { url: fleet.url, healthIntervalSec: 5, reconnectMaxSec: 2 } };
    await route.configure(input, args.dataDir, args.captureDir ? { captureDir: args.captureDir } : {});
    const config = parseConfig(input, "demo config");
    const configFile = join(args.dataDir, "config.yaml");
    writeFileSync(configFile, stringify(input), { mode: 0o600 });
    const logFile = join(args.dataDir, "agent.log");
    const logger = createLogger({
      level: "info",
      destination: pino.destination({ dest: logFile, sync: true }),
    });

    agent = new Agent({ config, configFile, logger, housekeepingMs: 5_000 });
    // A data dir used before holds the meter's memory: its records come again and are duplicates.
    const before = demoCounts(agent.ctx.buffer);
    await agent.start();
    say(
      "agent started: simulated glucose meter → socat pty → serial transport → contour-serial driver → SQLite buffer → route",
    );
    await route.afterStart?.(agent);

    const deadline = Date.now() + args.timeoutSec * 1000;
    const deliver = route.name !== "buffer";
    let received = 0;
    let now = before;
    for (;;) {
      received = await route.received();
      now = demoCounts(agent.ctx.buffer);
      if (demoSettled(args.readings, before, now, deliver) || Date.now() > deadline) break;
      await sleep(250);
    }
    const fresh = now.readings - before.readings;
    const duplicates = now.duplicates - before.duplicates;
    const stats = agent.ctx.buffer.stats();
    say("");
    say("outbox (what the hub buffered and delivered):");
    say(
      `  held=${stats.byState.held} pending=${stats.byState.pending} leased=${stats.byState.leased} ` +
        `delivered=${stats.byState.delivered} dead=${stats.byState.dead} duplicates_ignored=${stats.duplicates}`,
    );
    if (duplicates > 0)
      say(
        `  the meter sent ${duplicates} record(s) this hub already stored in an earlier run: recognised as duplicates, not sent again`,
      );
    for (const d of agent.ctx.buffer.outbox.deadLetters(5)) say(`  dead letter #${d.id}: ${d.reason}`);
    say("what arrived in the PKB stand-in:");
    for (const line of await route.describe()) say(`  ${line}`);
    say(`config: ${configFile}   log: ${logFile}`);
    say(`inspect: node dist/src/cli/main.js outbox list --config ${configFile}`);
    await agent.stop();
    agent = undefined;
    if (fleet) {
      say(`what the fleet saw (MQTT pkb-hub/${args.hubId}/#, no PHI):`);
      for (const line of await fleet.report()) say(`  ${line}`);
    }
    const exposed = exposedFiles(args.dataDir);
    say(
      exposed.length === 0
        ? "data directory: no file readable by other users"
        : `WARNING: exposed files: ${exposed.join(", ")}`,
    );
    say(
      `DEMO route=${route.name === "buffer" ? "buffer" : args.route} produced=${args.readings} delivered=${received} dead_letter=${stats.deadLetters}` +
        (route.name === "buffer" ? ` stored=${fresh}` : "") +
        (duplicates > 0 ? ` duplicates_ignored=${duplicates}` : ""),
    );
    // Every record of the download is in PKB once: delivered now, or in an earlier run (a duplicate).
    const ok = fresh + duplicates === args.readings && (!deliver || received === fresh);
    return ok && stats.deadLetters === 0 && exposed.length === 0 ? 0 : 1;
  } finally {
    await agent?.stop();
    await route.stop();
    await fleet?.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
