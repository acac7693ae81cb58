import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Agent } from "../../src/agent/agent.js";
import { eventSchema, healthSchema, stateSchema } from "../../src/monitor/schemas.js";
import { Capture, hl7Patient, hl7Route, monitorConfig, startAgent, suiteBroker } from "./support.js";

const suite = suiteBroker("pkb-mon-pub-");

const T = "pkb-hub/hub-test";

describe("MQTT publisher", () => {
  let agent: Agent | undefined;

  it("state online and health are retained: a subscriber arriving later gets both, valid against the schemas", async () => {
    agent = await startAgent(monitorConfig(join(suite.dir, "a"), suite.broker.url));
    const early = await Capture.open(suite.broker.url, [`${T}/#`]);
    await early.waitFor(() => early.on(`${T}/health`).length > 0, 10_000, "health");
    await early.close();
    const late = await Capture.open(suite.broker.url, [`${T}/state`, `${T}/health`]);
    await late.waitFor(() => late.on(`${T}/health`).length > 0 && late.on(`${T}/state`).length > 0);
    const [state] = late.on(`${T}/state`);
    const [health] = late.on(`${T}/health`);
    expect(state?.retain).toBe(true);
    expect(health?.retain).toBe(true);
    const s = stateSchema.parse(JSON.parse(state?.text ?? ""));
    expect(s).toMatchObject({ schemaVersion: 1, hub: "hub-test", state: "online" });
    const h = healthSchema.parse(JSON.parse(health?.text ?? ""));
    expect(h.hub).toBe("hub-test");
    expect(h.buffer.unsent).toBe(0);
    expect(h.clockSynced).toBe(true);
    expect(h.bluetooth).toBe("unused");
    expect(h.monitor).toEqual({ eventsQueued: 0, eventsDropped: 0 });
    await late.close();
  });

  it("an alert raised then cleared: one event each, in order, and a fresh health carrying it with its fix hint", async () => {
    const a = agent as Agent;
    const cap = await Capture.open(suite.broker.url, [`${T}/events`, `${T}/health`]);
    await cap.waitFor(() => cap.on(`${T}/health`).length > 0); // the retained one
    a.ctx.buffer.alerts.raise("DISK_FULL", "disk full at /var/lib/pkb-hub", a.ctx.clock.nowMs());
    const withAlert = await cap.waitFor(
      () => cap.json(`${T}/health`).find((h) => (h.alerts as unknown[]).length > 0),
      5000,
      "health with the alert",
    );
    expect(healthSchema.parse(withAlert).alerts).toEqual([
      {
        code: "DISK_FULL",
        hint: "free disk space on the hub (readings are refused until there is room)",
        since: expect.any(String),
      },
    ]);
    a.ctx.buffer.alerts.clear("DISK_FULL");
    await cap.waitFor(() => cap.on(`${T}/events`).length >= 2, 5000, "two events");
    const events = cap.json(`${T}/events`).map((e) => eventSchema.parse(e));
    expect(events.map((e) => [e.type, e.code])).toEqual([
      ["alert-raised", "DISK_FULL"],
      ["alert-cleared", "DISK_FULL"],
    ]);
    expect((events[1]?.seq ?? 0) - (events[0]?.seq ?? 0)).toBe(1);
    // The alert's own message (it may quote paths or server text) never goes out; the hint does.
    expect(cap.messages.some((m) => m.text.includes("/var/lib/pkb-hub"))).toBe(false);
    await cap.waitFor(
      () => (cap.json(`${T}/health`).at(-1)?.alerts as unknown[] | undefined)?.length === 0,
      5000,
      "health clear",
    );
    await cap.close();
  });

  it("a clean stop publishes the retained offline (reason shutdown), not the last will", async () => {
    await agent?.stop();
    agent = undefined;
    const cap = await Capture.open(suite.broker.url, [`${T}/state`]);
    const state = await cap.waitFor(() => cap.last(`${T}/state`));
    expect(stateSchema.parse(state)).toMatchObject({ state: "offline", reason: "shutdown" });
    expect(cap.on(`${T}/state`)).toHaveLength(1);
    await cap.close();
  });

  it("health goes out again every interval, and the retained one is the latest", async () => {
    const input = monitorConfig(join(suite.dir, "b"), suite.broker.url);
    // The schema's floor (5 s) is for fleets; one second keeps this test short.
    const a = await startAgent(input, { healthIntervalSec: 1 });
    const cap = await Capture.open(suite.broker.url, [`${T}/health`]);
    try {
      await cap.waitFor(
        () => cap.on(`${T}/health`).filter((m) => !m.retain).length >= 2,
        15_000,
        "interval health",
      );
      const late = await Capture.open(suite.broker.url, [`${T}/health`]);
      const retained = await late.waitFor(() => late.on(`${T}/health`)[0]);
      await late.close();
      expect(retained.retain).toBe(true);
      expect(healthSchema.parse(JSON.parse(retained.text)).uptimeSec).toBeGreaterThanOrEqual(2);
    } finally {
      await cap.close();
      await a.stop();
    }
  });
  it("a device silent for longer than its expected interval raises DEVICE_SILENT over MQTT, and health marks it", async () => {
    const dir = join(suite.dir, "silent");
    const input = {
      ...monitorConfig(dir, suite.broker.url),
      patients: [hl7Patient()],
      routes: { hl7: hl7Route(suite.dir, "https://127.0.0.1:9/hl7") },
      // Never plugged in; expected every 0.36 s.
      devices: [
        {
          id: "meter-1",
          driver: "contour-serial",
          patient: "p1",
          serialPath: join(dir, "no-such-tty"),
          expectedIntervalHours: 0.0001,
        },
      ],
    };
    const cap = await Capture.open(suite.broker.url, [`${T}/events`, `${T}/health`]);
    const a = await startAgent(input, { conditionsMs: 100 });
    try {
      const event = await cap.waitFor(
        () => cap.json(`${T}/events`).find((e) => e.code === "DEVICE_SILENT"),
        5000,
        "DEVICE_SILENT",
      );
      expect(eventSchema.parse(event)).toMatchObject({
        type: "alert-raised",
        hint: "a device has sent nothing for longer than its expected interval: check power, pairing and range",
      });
      const health = await cap.waitFor(
        () =>
          cap
            .json(`${T}/health`)
            .find((h) => (h.alerts as Array<{ code: string }>).some((x) => x.code === "DEVICE_SILENT")),
        5000,
        "health with DEVICE_SILENT",
      );
      expect(healthSchema.parse(health).devices.map((d) => [d.id, d.silent, d.expectedIntervalSec])).toEqual([
        ["meter-1", true, 0],
      ]);
    } finally {
      await a.stop();
      await cap.close();
    }
  });

  it("a broker password file others can read raises MQTT_SECRET_EXPOSED, and monitoring goes on", async () => {
    const passwordFile = join(suite.dir, "mqtt-password");
    writeFileSync(passwordFile, "pw\n", { mode: 0o644 });
    chmodSync(passwordFile, 0o644);
    const cap = await Capture.open(suite.broker.url, [`${T}/events`, `${T}/state`]);
    const a = await startAgent(
      monitorConfig(join(suite.dir, "exposed"), suite.broker.url, { username: "hub-test", passwordFile }),
    );
    try {
      const event = await cap.waitFor(() =>
        cap.json(`${T}/events`).find((e) => e.code === "MQTT_SECRET_EXPOSED"),
      );
      expect(eventSchema.parse(event)).toMatchObject({
        type: "alert-raised",
        hint: "chmod 600 monitor.mqtt.passwordFile and have the broker password changed",
      });
      expect(cap.last(`${T}/state`)?.state).toBe("online");
    } finally {
      await a.stop();
      await cap.close();
    }
  });
});
