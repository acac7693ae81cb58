/**
 * The demo's view of fleet monitoring: an MQTT broker (the one given with --mqtt-url, or a
 * mosquitto the demo starts on a free port), and an operations-side subscriber that prints, at
 * the end, what the fleet saw of the demo hub — its states, the last health, the events.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MqttClient } from "mqtt";
import { age } from "../../src/monitor/render.js";
import { eventSchema, type HealthPayload, healthSchema, stateSchema } from "../../src/monitor/schemas.js";
import { type Mosquitto, startMosquitto } from "./mosquitto.js";

export interface DemoFleet {
  /** The broker URL the hub is configured with. */
  url: string;
  /** Waits (briefly) for the hub's `offline` after the agent stopped, then describes what was seen. */
  report(): Promise<string[]>;
  stop(): Promise<void>;
}

/** The broker to use: the given URL, else an embedded mosquitto; undefined when neither is possible. */
export async function startDemoFleet(
  hubId: string,
  mqttUrl: string | undefined,
  say: (line: string) => void,
): Promise<DemoFleet | undefined> {
  let embedded: Mosquitto | undefined;
  let brokerDir: string | undefined;
  let url = mqttUrl;
  if (!url) {
    brokerDir = mkdtempSync(join(tmpdir(), "pkb-hub-demo-broker-"));
    try {
      embedded = await startMosquitto({ dir: brokerDir });
      url = embedded.url;
      say(`monitoring: embedded mosquitto on ${url} (give --mqtt-url URL to use your own broker)`);
    } catch (err) {
      rmSync(brokerDir, { recursive: true, force: true });
      say(
        `monitoring: no embedded broker (${err instanceof Error ? err.message.split("\n")[0] : String(err)}): skipped`,
      );
      return undefined;
    }
  } else say(`monitoring: publishing to ${url}`);

  const { connectAsync } = await import("mqtt");
  let client: MqttClient | undefined;
  try {
    client = await connectAsync(url, { protocolVersion: 5, reconnectPeriod: 1000, connectTimeout: 5000 });
    await client.subscribeAsync(`pkb-hub/${hubId}/#`, { qos: 1 });
  } catch (err) {
    say(
      `monitoring: cannot watch ${url} (${err instanceof Error ? err.message : String(err)}); the hub still publishes`,
    );
    client?.end(true);
    client = undefined;
  }
  const states: string[] = [];
  const events: string[] = [];
  let health: HealthPayload | undefined;
  let healthCount = 0;
  let invalid = 0;
  client?.on("message", (topic, payload) => {
    const kind = topic.split("/")[2];
    let json: unknown;
    try {
      json = JSON.parse(payload.toString("utf8"));
    } catch {
      invalid++;
      return;
    }
    if (kind === "state") {
      const s = stateSchema.safeParse(json);
      if (s.success)
        states.push(s.data.state === "offline" ? `offline (${s.data.reason ?? "?"})` : s.data.state);
      else invalid++;
    } else if (kind === "health") {
      const h = healthSchema.safeParse(json);
      if (h.success) {
        health = h.data;
        healthCount++;
      } else invalid++;
    } else if (kind === "events") {
      const e = eventSchema.safeParse(json);
      if (e.success) events.push(`${e.data.at.slice(11, 19)} ${e.data.type} ${e.data.code}: ${e.data.hint}`);
      else invalid++;
    }
  });

  return {
    url,
    async report() {
      const end = Date.now() + 3000;
      while (client && !states.at(-1)?.startsWith("offline") && Date.now() < end)
        await new Promise((r) => setTimeout(r, 50));
      const lines = [`state: ${states.join(" → ") || "(nothing seen)"}`];
      if (health) {
        const b = health.buffer;
        lines.push(
          `last health (${healthCount} seen): unsent=${b.unsent} delivered=${b.byState.delivered} (last hour ${b.deliveredLastHour}) dead=${b.byState.dead} ` +
            `oldest unsent=${age(b.oldestUnsentAgeSec)} clock synced=${health.clockSynced} alerts=${health.alerts.map((a) => a.code).join(",") || "none"}`,
        );
        for (const d of health.devices)
          lines.push(
            `  device ${d.id}: ${d.driver} via ${d.transport}, ${d.readings} reading(s), last seen ${d.lastSeenAt ?? "never"}`,
          );
        for (const p of health.patients) lines.push(`  patient ${p.key}: route ${p.route}, link ${p.link}`);
      } else lines.push("last health: (none seen)");
      lines.push(`events (${events.length}):`, ...events.map((e) => `  ${e}`));
      if (invalid > 0) lines.push(`payloads failing their schema: ${invalid}`);
      return lines;
    },
    async stop() {
      await client?.endAsync(true);
      await embedded?.stop();
      if (brokerDir) rmSync(brokerDir, { recursive: true, force: true });
    },
  };
}
