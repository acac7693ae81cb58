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

describe("identifiers published on MQTT", () => {
  const base = {
    hub: { id: "hub-1", dataDir: "/tmp/x" },
    patients: [{ key: "p1", route: "pkb-rest", nhsNumber: "943 476 5919", dob: "1950-01-31" }],
    routes: { pkbRest: { baseUrl: "https://pkb.example", clientId: "c", clientSecretFile: "/s" } },
  };
  const problemsOf = (input: Record<string, unknown>): string[] => {
    try {
      parseConfig({ ...base, ...input });
      return [];
    } catch (err) {
      if (err instanceof ConfigError) return err.problems.map((p) => `${p.path}: ${p.message.split(":")[0]}`);
      throw err;
    }
  };

  it("a hub id, patient key or device id holding an NHS number or a patient's birth date is refused, by path", () => {
    expect(problemsOf({ hub: { id: "hub-9434765919", dataDir: "/tmp/x" } })).toEqual([
      "hub.id: hub id must not carry an NHS number or a patient's date of birth",
    ]);
    expect(problemsOf({ patients: [{ ...base.patients[0], key: "4010232137" }] })).toEqual([
      "patients[0].key: patient key must not carry an NHS number or a patient's date of birth",
    ]);
    expect(
      problemsOf({ devices: [{ id: "bp-1950-01-31", driver: "ble-blood-pressure", patient: "p1" }] }),
    ).toEqual(["devices[0].id: device id must not carry an NHS number or a patient's date of birth"]);
    // A serial number in a device id is not an NHS number.
    expect(
      problemsOf({ devices: [{ id: "contour-7403123456", driver: "contour-serial", patient: "p1" }] }),
    ).toEqual([]);
  });
});
