import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import type { IClientOptions, MqttClient } from "mqtt";
import { connectAsync } from "mqtt";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  freePort,
  type Mosquitto,
  startMosquitto,
  startMosquittoWith,
} from "../../scripts/demo/mosquitto.js";
import type { Agent } from "../../src/agent/agent.js";
import { tempDir } from "../support/tmp.js";
import { until } from "../support/wait.js";
import { makePki, type Pki, passwordFile } from "./pki.js";
import { Capture, monitorConfig, startAgent } from "./support.js";

const ACL = join(import.meta.dirname, "../../config/mosquitto/acl");
const SHIPPED_CONF = join(import.meta.dirname, "../../config/mosquitto/mosquitto.conf");
const tmp = tempDir("pkb-mon-sec-");
const PASSWORDS = { "hub-a": "pw-a", "hub-b": "pw-b", operations: "pw-ops" };
let pki: Pki;
let broker: Mosquitto; // TLS + passwords + the example ACL
let certBroker: Mosquitto; // TLS + client certificates (CN = username) + the example ACL
const agents: Agent[] = [];

function secret(name: string, value: string): string {
  const file = join(tmp.dir, name);
  writeFileSync(file, `${value}\n`, { mode: 0o600 });
  return file;
}

function tlsAs(user: keyof typeof PASSWORDS): IClientOptions {
  return {
    ca: readFileSync(pki.caFile),
    username: user,
    password: PASSWORDS[user],
    rejectUnauthorized: true,
  };
}

/** A hub agent (hub id = broker username) with its log in a file, to read why it is not connected. */
async function hub(
  id: string,
  mqtt: Record<string, unknown>,
  url = broker.url,
): Promise<{ agent: Agent; log: string }> {
  const log = join(tmp.dir, `${id}-${agents.length}.log`);
  const logger = pino({ level: "debug" }, pino.destination({ dest: log, sync: true }));
  const input = monitorConfig(join(tmp.dir, `data-${id}-${agents.length}`), url, mqtt);
  (input.hub as { id: string }).id = id;
  const agent = await startAgent(input, { logger });
  agents.push(agent);
  return { agent, log };
}

async function stopAll(): Promise<void> {
  for (const a of agents.splice(0)) await a.stop();
}

beforeAll(async () => {
  pki = makePki(tmp.dir);
  const tls = { caFile: pki.caFile, certFile: pki.server.certFile, keyFile: pki.server.keyFile };
  broker = await startMosquitto({
    dir: tmp.dir,
    tls,
    passwordFile: passwordFile(tmp.dir, PASSWORDS),
    aclFile: ACL,
  });
  certBroker = await startMosquitto({
    dir: tmp.dir,
    tls: { ...tls, requireCertificate: true },
    aclFile: ACL,
  });
});

afterAll(async () => {
  await stopAll();
  await Promise.all([broker?.stop(), certBroker?.stop()]);
  tmp.cleanup();
});

/** Waits until the hub's log says the broker refused it (at least one real attempt), plus a moment. */
async function refused(log: string): Promise<string> {
  await until(
    () => existsSync(log) && readFileSync(log, "utf8").includes("monitoring broker not reachable"),
    15_000,
  );
  await new Promise((r) => setTimeout(r, 500));
  return readFileSync(log, "utf8");
}

describe("MQTT security: TLS, credentials, client certificates, the example ACL", () => {
  it("TLS is verified: a broker certificate the hub's CA did not sign is refused, and the agent runs on", async () => {
    const ops = await Capture.open(broker.url, ["pkb-hub/#"], tlsAs("operations"));
    const { agent, log } = await hub("hub-a", {
      caFile: pki.rogue.caFile,
      username: "hub-a",
      passwordFile: secret("pw-a", PASSWORDS["hub-a"]),
    });
    const text = await refused(log);
    expect(ops.on("pkb-hub/hub-a/state")).toHaveLength(0);
    expect(text).toContain("SELF_SIGNED_CERT_IN_CHAIN");
    expect(agent.status().hub).toBe("hub-a"); // the agent itself is unaffected
    await stopAll();
    await ops.close();
  });

  it("username/password: a wrong password is refused (never online); the right one connects", async () => {
    const ops = await Capture.open(broker.url, ["pkb-hub/#"], tlsAs("operations"));
    const { log } = await hub("hub-a", {
      caFile: pki.caFile,
      username: "hub-a",
      passwordFile: secret("pw-wrong", "not-the-password"),
    });
    const text = await refused(log);
    expect(ops.on("pkb-hub/hub-a/state")).toHaveLength(0);
    expect(text).toMatch(/not authori[sz]ed|bad user name or password/i);
    await stopAll();
    await hub("hub-a", {
      caFile: pki.caFile,
      username: "hub-a",
      passwordFile: secret("pw-a", PASSWORDS["hub-a"]),
    });
    await ops.waitFor(() => ops.last("pkb-hub/hub-a/state")?.state === "online", 5000, "hub-a online");
    await stopAll();
    await ops.close();
  });

  it("client certificates: a hub with a fleet certificate connects as its CN; a rogue certificate is refused", async () => {
    const ca = readFileSync(pki.caFile);
    const opsCert = pki.client("operations");
    const ops = await Capture.open(certBroker.url, ["pkb-hub/#"], {
      ca,
      cert: readFileSync(opsCert.certFile),
      key: readFileSync(opsCert.keyFile),
    });
    const good = pki.client("hub-a");
    await hub(
      "hub-a",
      { caFile: pki.caFile, certFile: good.certFile, keyFile: good.keyFile },
      certBroker.url,
    );
    await ops.waitFor(() => ops.last("pkb-hub/hub-a/state")?.state === "online", 5000, "hub-a online");
    const rogue = pki.rogue.client("hub-b");
    const { log } = await hub(
      "hub-b",
      { caFile: pki.caFile, certFile: rogue.certFile, keyFile: rogue.keyFile },
      certBroker.url,
    );
    await refused(log);
    expect(ops.on("pkb-hub/hub-b/state")).toHaveLength(0);
    await stopAll();
    await ops.close();
  });

  it("ACL: a hub cannot read another hub's requests nor write another hub's state, health, events or responses", async () => {
    const ops = await Capture.open(broker.url, ["pkb-hub/#"], tlsAs("operations"));
    await hub("hub-a", {
      caFile: pki.caFile,
      username: "hub-a",
      passwordFile: secret("pw-a", PASSWORDS["hub-a"]),
    });
    await ops.waitFor(() => ops.last("pkb-hub/hub-a/health"), 5000, "hub-a health");

    // hub-b, with valid credentials of its own, tries to spy on and impersonate hub-a.
    const spy = await Capture.open(broker.url, ["pkb-hub/hub-a/#", "pkb-hub/+/request/#"], tlsAs("hub-b"));
    const b: MqttClient = spy.client;
    const forged = JSON.stringify({ schemaVersion: 1, hub: "hub-a", state: "offline", reason: "shutdown" });
    const refused: string[] = [];
    for (const topic of ["state", "health", "events", "response/ping", "request/flush"]) {
      await b
        .publishAsync(`pkb-hub/hub-a/${topic}`, forged, { qos: 1, retain: topic === "state" })
        .catch(() => refused.push(topic));
    }
    // Its own topics work (the ACL is not simply "deny all").
    await b.publishAsync(
      "pkb-hub/hub-b/state",
      JSON.stringify({ schemaVersion: 1, hub: "hub-b", state: "online" }),
      {
        qos: 1,
      },
    );

    // Operations sends hub-a a request: hub-a answers, hub-b never sees the request.
    const opsClient = ops.client;
    await opsClient.publishAsync("pkb-hub/hub-a/request/ping", JSON.stringify({ transaction: "acl-1" }), {
      qos: 1,
    });
    await ops.waitFor(() => ops.last("pkb-hub/hub-a/response/ping"), 5000, "hub-a's answer");
    await ops.waitFor(() => ops.last("pkb-hub/hub-b/state"), 5000, "hub-b's own state");
    await new Promise((r) => setTimeout(r, 300));

    expect(refused).toEqual(["state", "health", "events", "response/ping", "request/flush"]);
    expect(spy.messages.filter((m) => m.topic.startsWith("pkb-hub/hub-a/"))).toEqual([]);
    expect(spy.messages.filter((m) => m.topic.includes("/request/"))).toEqual([]);
    // (Retained copies from earlier tests aside) the only state hub-a's topic carried is hub-a's own.
    const live = ops.on("pkb-hub/hub-a/state").filter((m) => !m.retain);
    expect(live.map((m) => JSON.parse(m.text).state)).toEqual(["online"]);
    expect(ops.on("pkb-hub/hub-a/health").every((m) => JSON.parse(m.text).schemaVersion === 1)).toBe(true);
    expect(ops.on("pkb-hub/hub-a/response/ping")).toHaveLength(1);
    // A late subscriber still sees hub-a online: nothing forged was retained.
    const late = await Capture.open(broker.url, ["pkb-hub/hub-a/state"], tlsAs("operations"));
    expect((await late.waitFor(() => late.last("pkb-hub/hub-a/state"))).state).toBe("online");
    await Promise.all([late.close(), spy.close(), ops.close()]);
    await stopAll();
  });
  it("the shipped config/mosquitto/mosquitto.conf, its port and paths moved to a temp dir, runs a real mosquitto: a hub connects over TLS with its password, anonymous clients are refused", async () => {
    const port = await freePort();
    const dir = join(tmp.dir, "shipped");
    mkdirSync(dir, { recursive: true });
    // Only the listener's port and the file paths change; every other line is the shipped one.
    const moves: Array<[string, string]> = [
      ["listener 8883", `listener ${port} 127.0.0.1`],
      ["/var/lib/mosquitto/", `${dir}/`],
      ["/etc/mosquitto/certs/ca.pem", pki.caFile],
      ["/etc/mosquitto/certs/broker.pem", pki.server.certFile],
      ["/etc/mosquitto/certs/broker.key", pki.server.keyFile],
      ["/etc/mosquitto/passwords", passwordFile(dir, PASSWORDS)],
      ["/etc/mosquitto/acl", ACL],
    ];
    let text = readFileSync(SHIPPED_CONF, "utf8");
    for (const [from, to] of moves) {
      expect(text.split(from), from).toHaveLength(2);
      text = text.replace(from, to);
    }
    expect(text).not.toMatch(/\/etc\/|\/var\//);
    // Run as this user (as root mosquitto would switch to a `mosquitto` user that cannot read the temp files).
    const conf = join(dir, "mosquitto.conf");
    writeFileSync(conf, `${text}\nuser ${userInfo().username}\nlog_dest stderr\n`, { mode: 0o600 });
    const shipped = await startMosquittoWith(conf, `mqtts://127.0.0.1:${port}`);
    try {
      const ops = await Capture.open(shipped.url, ["pkb-hub/#"], tlsAs("operations"));
      await hub(
        "hub-a",
        { caFile: pki.caFile, username: "hub-a", passwordFile: secret("pw-a", PASSWORDS["hub-a"]) },
        shipped.url,
      );
      await ops.waitFor(() => ops.last("pkb-hub/hub-a/state")?.state === "online", 10_000, "hub-a online");
      await ops.waitFor(() => ops.last("pkb-hub/hub-a/health"), 10_000, "hub-a health");
      await expect(
        connectAsync(shipped.url, {
          ca: readFileSync(pki.caFile),
          rejectUnauthorized: true,
          reconnectPeriod: 0,
        }),
      ).rejects.toThrow(/not authori[sz]ed/i);
      await stopAll();
      await ops.close();
    } finally {
      await shipped.stop();
    }
  });
});
