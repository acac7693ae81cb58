import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Mosquitto, startMosquitto } from "../../scripts/demo/mosquitto.js";
import type { Agent } from "../../src/agent/agent.js";
import type { FakeClock } from "../../src/core/clock.js";
import { eventSchema, healthSchema } from "../../src/monitor/schemas.js";
import { type Hl7Standin, startHl7Standin } from "../standin/hl7/server.js";
import { bpReading } from "../support/buffer.js";
import { ANN } from "../support/pkb-patients.js";
import { tempDir } from "../support/tmp.js";
import { until } from "../support/wait.js";
import { Capture, hl7Patient, hl7Route, startAgent } from "./support.js";

const T = "pkb-hub/hub-res";
const NHS = ANN.nhsNumber;
const tmp = tempDir("pkb-mon-res-");
let broker: Mosquitto;
let pkb: Hl7Standin;
let agent: Agent;

beforeAll(async () => {
  broker = await startMosquitto({ dir: tmp.dir });
  pkb = await startHl7Standin();
  agent = await startAgent({
    hub: { id: "hub-res", timeZone: "UTC", dataDir: join(tmp.dir, "data") },
    clock: { mode: "assume-synced" },
    patients: [hl7Patient()],
    routes: { hl7: hl7Route(tmp.dir, pkb.httpsUrl, pkb.caFile) },
    monitor: { mqtt: { url: broker.url, reconnectMaxSec: 1, eventQueueMax: 5 } },
  });
});

afterAll(async () => {
  await agent?.stop();
  await pkb?.stop();
  await broker?.stop();
  tmp.cleanup();
});

/** A device's worth of readings: one every 20 ms, each stored durably and handed to the route. */
function feed() {
  let n = 0;
  let running = true;
  const latencies: number[] = [];
  const done = (async () => {
    while (running && n < 100_000) {
      const r = await agent.ctx.buffer.ingest([bpReading(agent.ctx.clock as FakeClock, ++n, "p1")]);
      latencies.push(r.durableMs);
      agent.ctx.pokeRoutes();
      await new Promise((res) => setTimeout(res, 20));
    }
  })();
  return {
    produced: () => n,
    stop: async () => {
      running = false;
      await done;
      return latencies;
    },
  };
}

const delivered = () => pkb.registry.observationsFor(NHS).length / 2; // two OBX per blood pressure reading

describe("MQTT resilience", () => {
  it("a broker stopped, restarted and hung mid-run: readings keep flowing, events are queued (bounded), the latest health follows reconnect", async () => {
    const cap = await Capture.open(broker.url, [`${T}/#`]);
    await cap.waitFor(() => cap.last(`${T}/state`)?.state === "online", 10_000, "online");
    const device = feed();
    await cap.waitFor(() => delivered() > 5, 15_000, "first deliveries");

    // Broker down: readings go on being stored and delivered; alert changes pile up in the bounded queue.
    await cap.close();
    await broker.stop();
    const atStop = delivered();
    for (let i = 0; i < 10; i++) {
      agent.ctx.buffer.alerts.raise("RELINK_NEEDED", `relink p${i}`, Date.now());
      agent.ctx.buffer.alerts.clear("RELINK_NEEDED");
    }
    agent.ctx.buffer.alerts.raise("BUFFER_CORRUPT", "moved aside", Date.now());
    await until(() => delivered() - atStop > 10, 15_000);

    // Back on the same port (retained messages gone with it): online, the queued events, the latest health.
    await broker.restart();
    const back = await Capture.open(broker.url, [`${T}/#`]);
    await back.waitFor(() => back.last(`${T}/state`)?.state === "online", 10_000, "online again");
    const health = healthSchema.parse(
      await back.waitFor(
        () => back.json(`${T}/health`).find((h) => (h.alerts as unknown[]).length > 0),
        5000,
        "health",
      ),
    );
    expect(health.alerts.map((a) => a.code)).toEqual(["BUFFER_CORRUPT"]);
    expect(health.monitor.eventsDropped).toBe(16); // 21 alert changes, 5 kept
    const events = await back.waitFor(() => {
      const e = back.json(`${T}/events`).map((x) => eventSchema.parse(x));
      return e.length >= 5 ? e : undefined;
    });
    expect(events.map((e) => [e.seq, e.type, e.code])).toEqual([
      [16, "alert-raised", "RELINK_NEEDED"],
      [17, "alert-cleared", "RELINK_NEEDED"],
      [18, "alert-raised", "RELINK_NEEDED"],
      [19, "alert-cleared", "RELINK_NEEDED"],
      [20, "alert-raised", "BUFFER_CORRUPT"],
    ]);

    // A broker that hangs (accepts nothing, answers nothing): ingest and delivery do not notice.
    broker.pause();
    const atPause = delivered();
    const before = agent.ctx.buffer.latencyPercentile(99);
    agent.ctx.buffer.alerts.clear("BUFFER_CORRUPT");
    await until(() => delivered() - atPause > 10, 15_000);
    broker.resume();

    const latencies = await device.stop();
    await back.waitFor(
      () => (delivered() === device.produced() && agent.ctx.buffer.stats().unsent === 0) || undefined,
      15_000,
      "every reading delivered",
    );
    expect(delivered()).toBe(device.produced());
    expect(agent.ctx.buffer.stats().unsent).toBe(0);
    expect(agent.status().buffer.deliveredLastHour).toBe(device.produced());
    // No durable ingest waited on the broker (a connect timeout would be 10 s; this box is shared and slow).
    expect(Math.max(...latencies)).toBeLessThan(Math.max(2000, before * 20));
    await back.waitFor(() =>
      back.json(`${T}/events`).find((e) => e.code === "BUFFER_CORRUPT" && e.type === "alert-cleared"),
    );
    await back.close();
  }, 60_000);
});
