import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../src/config/load.js";

function problems(mqtt: Record<string, unknown>): string[] {
  try {
    parseConfig({ hub: { id: "h", dataDir: "/tmp/x" }, monitor: { mqtt } });
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.path}: ${p.message}`);
    throw err;
  }
}

describe("monitor.mqtt settings", () => {
  it("refuses cleartext beyond loopback, credentials in the URL, other schemes and half a client certificate, by path", () => {
    expect(problems({ url: "mqtt://broker.example.net:1883" })).toEqual([
      "monitor.mqtt.url: broker URL uses cleartext mqtt:// to broker.example.net: only mqtts:// or wss:// beyond loopback",
    ]);
    expect(problems({ url: "mqtts://hub:secret@broker.example.net" })).toEqual([
      "monitor.mqtt.url: broker URL must not carry credentials in the URL (use username and passwordFile)",
    ]);
    expect(problems({ url: "http://127.0.0.1:1883" })).toEqual([
      "monitor.mqtt.url: broker URL uses the scheme http: : only mqtts://, wss:// (or mqtt://, ws:// to loopback)",
    ]);
    expect(
      problems({ url: "mqtts://broker.example.net", certFile: "/etc/pkb-hub/hub.pem", passwordFile: "/p" }),
    ).toEqual([
      "monitor.mqtt.keyFile: certFile and keyFile go together",
      "monitor.mqtt.username: passwordFile needs a username",
    ]);
    expect(problems({ url: "mqtts://broker.example.net", baseTopic: "fleet/#" })).toHaveLength(1);
    expect(problems({ url: "mqtts://broker.example.net:8883" })).toEqual([]);
    expect(problems({ url: "mqtt://127.0.0.1:1883" })).toEqual([]);
  });
});
