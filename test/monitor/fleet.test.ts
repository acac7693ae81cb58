import { type ChildProcessByStdio, spawn, spawnSync } from "node:child_process";
import type { Readable } from "node:stream";
import { connectAsync, type MqttClient } from "mqtt";
import { afterAll, describe, expect, it } from "vitest";
import type { HubRow } from "../../src/monitor/fleet.js";
import type { HealthPayload, StatePayload } from "../../src/monitor/schemas.js";
import { CLI, suiteBroker } from "./support.js";

const HUBS = 500;
const ROUNDS = 3;
const suite = suiteBroker("pkb-mon-fleet-");
const hubs: MqttClient[] = [];
let watcher: ChildProcessByStdio<null, Readable, Readable> | undefined;

afterAll(async () => {
  watcher?.kill("SIGTERM");
  await Promise.all(hubs.map((h) => h.endAsync(true)));
});

const id = (i: number) => `sim-${String(i).padStart(4, "0")}`;

function health(hub: string, round: number): HealthPayload {
  const counts = {
    held: 0,
    pending: round,
    leased: 0,
    ambiguous: 0,
    quarantined: 0,
    delivered: 100,
    dead: 0,
  };
  return {
    schemaVersion: 1,
    hub,
    version: "0.1.0",
    at: new Date(Date.UTC(2026, 0, 1, 0, 0, round)).toISOString(),
    uptimeSec: round,
    buffer: {
      byState: counts,
      byRoute: { "pkb-rest": counts },
      unsent: round,
      oldestUnsentAgeSec: round,
      deliveredLastHour: 12,
      duplicates: 0,
      refused: 0,
      usedBytes: 1_000_000,
      maxBytes: 536_870_912,
    },
    devices: [
      {
        id: "bp",
        driver: "ble-blood-pressure",
        transport: "ble",
        lastSeenAt: null,
        expectedIntervalSec: 86_400,
        silent: false,
        battery: null,
        readings: 3,
        malformedFrames: 0,
        reconnects: 0,
      },
    ],
    patients: [{ key: "patient-a", route: "pkb-rest", link: "linked" }],
    diskFreeBytes: 10_000_000_000,
    clockSynced: true,
    bluetooth: "available",
    alerts: round !== 2 ? [] : [{ code: "DEVICE_SILENT", hint: "check", since: "2026-01-01T00:00:00.000Z" }],
    monitor: { eventsQueued: 0, eventsDropped: 0 },
  };
}

describe(`fleet watch with ${HUBS} simulated hubs on one mosquitto`, () => {
  it(`keeps up: every hub's latest health is in the table within 5 s of each round (${ROUNDS} rounds)`, async () => {
    const url = suite.broker.url;
    const latest = new Map<string, HubRow>();
    watcher = spawn(
      process.execPath,
      [CLI, "fleet", "watch", "--mqtt-url", url, "--json", "--refresh-ms", "100"],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let buffered = "";
    watcher.stdout.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) {
        const row = JSON.parse(line) as HubRow;
        latest.set(row.hub, row);
      }
    });

    for (let start = 0; start < HUBS; start += 100) {
      const batch = Array.from({ length: Math.min(100, HUBS - start) }, (_, k) => {
        const hub = id(start + k);
        const will: StatePayload = { schemaVersion: 1, hub, state: "offline", reason: "connection-lost" };
        return connectAsync(url, {
          clientId: hub,
          protocolVersion: 4,
          reconnectPeriod: 0,
          will: {
            topic: `pkb-hub/${hub}/state`,
            payload: Buffer.from(JSON.stringify(will)),
            qos: 1,
            retain: true,
          },
        });
      });
      hubs.push(...(await Promise.all(batch)));
    }
    await Promise.all(
      hubs.map((c, i) =>
        c.publishAsync(
          `pkb-hub/${id(i)}/state`,
          JSON.stringify({ schemaVersion: 1, hub: id(i), state: "online" }),
          {
            qos: 1,
            retain: true,
          },
        ),
      ),
    );

    const seen = Date.now() + 15_000;
    while (latest.size < HUBS && Date.now() < seen) await new Promise((r) => setTimeout(r, 10));
    expect(latest.size).toBe(HUBS);

    const lags: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const t0 = Date.now();
      await Promise.all(
        hubs.map((c, i) =>
          c.publishAsync(`pkb-hub/${id(i)}/health`, JSON.stringify(health(id(i), round)), {
            qos: 1,
            retain: true,
          }),
        ),
      );
      const published = Date.now();
      const want = new Date(Date.UTC(2026, 0, 1, 0, 0, round)).toISOString();
      const end = published + 10_000;
      while ([...latest.values()].filter((r) => r.healthAt === want).length < HUBS && Date.now() < end)
        await new Promise((r) => setTimeout(r, 10));
      lags.push(Date.now() - published);
      console.log(
        `FLEET round=${round} hubs=${HUBS} publish_ms=${published - t0} table_lag_ms=${Date.now() - published}`,
      );
    }
    expect([...latest.values()].filter((r) => r.unsent === ROUNDS && r.state === "online")).toHaveLength(
      HUBS,
    );
    expect(Math.max(...lags)).toBeLessThan(5000);

    // Ten hubs die without a word: the broker's last wills reach the table.
    for (const c of hubs.slice(0, 10)) c.stream.destroy();
    const end = Date.now() + 10_000;
    while (
      [...latest.values()].filter((r) => r.offlineReason === "connection-lost").length < 10 &&
      Date.now() < end
    )
      await new Promise((r) => setTimeout(r, 10));
    expect(
      [...latest.values()].filter((r) => r.offlineReason === "connection-lost").map((r) => r.hub),
    ).toEqual(Array.from({ length: 10 }, (_, i) => id(i)));

    // --once, piped: a plain table (no colour codes), offline hubs first, and the totals line.
    const once = spawnSync(
      process.execPath,
      [CLI, "fleet", "watch", "--mqtt-url", url, "--once", "--wait-ms", "1500"],
      {
        encoding: "utf8",
        timeout: 20_000,
      },
    );
    const lines = once.stdout.trim().split("\n");
    expect(once.status).toBe(0);
    expect(once.stdout).not.toContain("\x1b[");
    expect(lines[0]).toMatch(/^HUB\s+STATE\s+UNSENT\s+OLDEST\s+DEAD\s+DELIVERED\/H\s+HEALTH AGE\s+ALERTS$/);
    expect(lines[1]).toMatch(
      new RegExp(`^sim-0000\\s+offline\\(connection-lost\\)\\s+${ROUNDS}\\s+${ROUNDS}s\\s+0\\s+12\\s`),
    );
    expect(lines.at(-1)).toBe(`${HUBS} hub(s): ${HUBS - 10} online, 10 not online, 0 with alerts`);
  }, 60_000);
});
