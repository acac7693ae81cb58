import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Mosquitto, startMosquitto } from "../../scripts/demo/mosquitto.js";
import { parseConfig } from "../../src/config/load.js";
import { bluetoothInfo, reachBroker, reachHttp } from "../../src/ops/probes.js";
import { makePki, type Pki } from "../monitor/pki.js";
import { tempDir } from "../support/tmp.js";

const tmp = tempDir();
let pki: Pki;
let server: Server;
let broker: Mosquitto;
let url: string;

beforeAll(async () => {
  pki = makePki(tmp.dir);
  server = createServer(
    { cert: readFileSync(pki.server.certFile), key: readFileSync(pki.server.keyFile) },
    (_req, res) => res.writeHead(404).end(),
  );
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  mkdirSync(join(tmp.dir, "mq"));
  broker = await startMosquitto({ dir: join(tmp.dir, "mq"), tls: { caFile: pki.caFile, ...pki.server } });
});
afterAll(async () => {
  await broker?.stop();
  await new Promise((r) => server?.close(r));
  tmp.cleanup();
});

function mqttConfig(mqtt: Record<string, unknown>) {
  return parseConfig({ hub: { id: "h1", dataDir: join(tmp.dir, "d") }, monitor: { mqtt } });
}

describe("doctor's real probes", () => {
  it("PKB over HTTPS: an untrusted certificate is a TLS failure; with its CA any HTTP answer is reachable", async () => {
    const untrusted = await reachHttp(url);
    expect(untrusted).toMatchObject({ ok: false, tls: true });
    expect(await reachHttp(url, pki.caFile)).toEqual({ ok: true, status: 404 });
    const refused = await reachHttp("https://127.0.0.1:9/");
    expect(refused).toMatchObject({ ok: false, tls: false });
    expect(refused.ok === false && refused.reason.startsWith("ECONNREFUSED")).toBe(true);
  });

  it("the broker: verified with its CA, refused without, under its own client id", async () => {
    const tlsUrl = broker.url.replace(/^mqtt:/, "mqtts:");
    expect(await reachBroker(mqttConfig({ url: tlsUrl, caFile: pki.caFile }))).toEqual({
      ok: true,
      status: 0,
    });
    const untrusted = await reachBroker(mqttConfig({ url: tlsUrl }));
    expect(untrusted).toMatchObject({ ok: false, tls: true });
  });

  it("Bluetooth: adapters, rfkill blocks and the unit's capabilities from /sys and the unit file", () => {
    const sys = join(tmp.dir, "sys");
    mkdirSync(join(sys, "bluetooth", "hci0"), { recursive: true });
    mkdirSync(join(sys, "rfkill", "rfkill0"), { recursive: true });
    writeFileSync(join(sys, "rfkill", "rfkill0", "type"), "bluetooth\n");
    writeFileSync(join(sys, "rfkill", "rfkill0", "soft"), "1\n");
    writeFileSync(join(sys, "rfkill", "rfkill0", "hard"), "0\n");
    writeFileSync(join(sys, "rfkill", "rfkill0", "name"), "hci0\n");
    const unit = join(tmp.dir, "pkb-hub.service");
    writeFileSync(unit, "[Service]\nAmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN\n");
    expect(bluetoothInfo(sys, [unit])).toEqual({ adapters: ["hci0"], blocked: ["hci0"], capabilities: true });
    writeFileSync(unit, "[Service]\nAmbientCapabilities=\n");
    expect(bluetoothInfo(sys, [unit]).capabilities).toBe(false);
    expect(bluetoothInfo(join(tmp.dir, "nosys"), [join(tmp.dir, "none")])).toEqual({
      adapters: [],
      blocked: [],
      capabilities: undefined,
    });
  });
});
