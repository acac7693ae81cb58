import { existsSync, readdirSync, readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import mqtt from "mqtt";
import type { Config } from "../config/schema.js";
import { linuxSyncProbe } from "../core/clock.js";
import { messageOf } from "../core/errors.js";
import { clientOptions } from "../monitor/client-options.js";
import { Topics } from "../monitor/topics.js";

/** What the machine says about Bluetooth, for `doctor`. */
export interface BluetoothInfo {
  /** hci adapters the kernel knows (hci0, …). */
  adapters: string[];
  /** Adapters switched off by rfkill. */
  blocked: string[];
  /**
   * Whether the service will have CAP_NET_RAW and CAP_NET_ADMIN (noble needs both): from the
   * installed unit's AmbientCapabilities; undefined when no unit is installed.
   */
  capabilities: boolean | undefined;
}

/** A network endpoint answered (any HTTP status) or did not, and why, in words. */
export type Reach = { ok: true; status: number } | { ok: false; reason: string; tls: boolean };

const TLS_CODES = new Set([
  "CERT_HAS_EXPIRED",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "CERT_NOT_YET_VALID",
  "EPROTO",
]);

function reasonOf(err: unknown): { reason: string; tls: boolean } {
  const code = (err as { code?: unknown }).code;
  const c = typeof code === "string" ? code : undefined;
  return { reason: c ? `${c}: ${messageOf(err)}` : messageOf(err), tls: c !== undefined && TLS_CODES.has(c) };
}

/**
 * Asks `url` once over HTTPS with the certificate verified (against `caFile` when given) and reads
 * only the status: no credentials, no patient data. Any HTTP answer means reachable.
 */
export function reachHttp(url: string, caFile?: string, timeoutMs = 8000): Promise<Reach> {
  return new Promise((resolve) => {
    let ca: Buffer | undefined;
    try {
      ca = caFile === undefined ? undefined : readFileSync(caFile);
    } catch (err) {
      resolve({ ok: false, reason: `cannot read the CA file ${caFile}: ${messageOf(err)}`, tls: true });
      return;
    }
    const target = new URL(url);
    const send = target.protocol === "https:" ? httpsRequest : httpRequest;
    const req = send(target, {
      method: "GET",
      timeout: timeoutMs,
      rejectUnauthorized: true,
      ...(ca ? { ca } : {}),
    });
    req.on("response", (res) => {
      res.resume();
      resolve({ ok: true, status: res.statusCode ?? 0 });
    });
    req.on("timeout", () =>
      req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: "TIMEOUT" })),
    );
    req.on("error", (err) => resolve({ ok: false, ...reasonOf(err) }));
    req.end();
  });
}

/**
 * Connects to the broker as the configured hub would (TLS verified, same credentials) but under its
 * own client id and with no last will: a broker drops an older session with the same id, and the
 * will would tell the fleet the hub went offline.
 */
export function reachBroker(config: Config, timeoutMs = 8000): Promise<Reach> {
  const settings = config.monitor.mqtt;
  if (!settings) return Promise.resolve({ ok: false, reason: "no broker configured", tls: false });
  return new Promise((resolve) => {
    let options: ReturnType<typeof clientOptions>;
    try {
      options = clientOptions(settings, config.hub.id, new Topics(settings.baseTopic, config.hub.id));
    } catch (err) {
      resolve({ ok: false, ...reasonOf(err) });
      return;
    }
    const { will: _will, ...rest } = options;
    const client = mqtt.connect(settings.url, {
      ...rest,
      clientId: `${(settings.clientId ?? `pkb-hub-${config.hub.id}`).slice(0, 100)}-doctor`,
      connectTimeout: timeoutMs,
      reconnectPeriod: 0,
    });
    const done = (r: Reach) => {
      clearTimeout(timer);
      client.removeAllListeners();
      client.on("error", () => {});
      client.end(true);
      resolve(r);
    };
    const timer = setTimeout(
      () => done({ ok: false, reason: `no answer within ${timeoutMs} ms`, tls: false }),
      timeoutMs,
    );
    client.once("connect", () => done({ ok: true, status: 0 }));
    client.once("error", (err) => done({ ok: false, ...reasonOf(err) }));
    client.once("close", () => done({ ok: false, reason: "the broker closed the connection", tls: false }));
  });
}

const UNIT_FILES = ["/etc/systemd/system/pkb-hub.service", "/lib/systemd/system/pkb-hub.service"];

/** Adapters from /sys/class/bluetooth, rfkill state, and the unit's capabilities. */
export function bluetoothInfo(sys = "/sys/class", units = UNIT_FILES): BluetoothInfo {
  const list = (dir: string) => {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  };
  const adapters = list(join(sys, "bluetooth")).filter((n) => /^hci\d+$/.test(n));
  const blocked: string[] = [];
  for (const r of list(join(sys, "rfkill"))) {
    const read = (f: string) => {
      try {
        return readFileSync(join(sys, "rfkill", r, f), "utf8").trim();
      } catch {
        return "";
      }
    };
    if (read("type") === "bluetooth" && (read("soft") === "1" || read("hard") === "1"))
      blocked.push(read("name") || r);
  }
  const unit = units.find((u) => existsSync(u));
  let capabilities: boolean | undefined;
  if (unit) {
    const text = readFileSync(unit, "utf8");
    const granted = [...text.matchAll(/^AmbientCapabilities=(.*)$/gm)].map((m) => m[1] ?? "").join(" ");
    capabilities = granted.includes("CAP_NET_RAW") && granted.includes("CAP_NET_ADMIN");
  }
  return { adapters, blocked, capabilities };
}

export const clockSynced = linuxSyncProbe();
