import { readFileSync, statfsSync } from "node:fs";
import { OUTBOX_STATES, type OutboxState } from "../buffer/outbox.js";
import type { BufferStats } from "../buffer/stats.js";
import type { Config, DeviceConfig } from "../config/schema.js";
import { alertHint } from "../core/alert-hints.js";
import type { Clock } from "../core/clock.js";
import type { DeviceCounters } from "./device-sink.js";

/**
 * A snapshot of the hub that may go anywhere (MQTT health, `status`, `doctor`): hub, device and
 * local patient keys, counts, ages and alert codes only. Never a name, NHS number, date of birth,
 * reading value, token, dead-letter reason or alert message (those can quote PKB's error text).
 */
export interface HubStatus {
  hub: string;
  version: string;
  at: string;
  uptimeSec: number;
  buffer: BufferStatus;
  devices: DeviceStatus[];
  patients: PatientStatus[];
  diskFreeBytes: number | null;
  clockSynced: boolean;
  bluetooth: "unused" | "available" | "unavailable";
  alerts: AlertStatus[];
}

/** Rows per outbox state (every state present, zero when none). */
export type StateCounts = Record<OutboxState, number>;

export interface BufferStatus {
  byState: StateCounts;
  byRoute: Record<string, StateCounts>;
  unsent: number;
  oldestUnsentAgeSec: number | null;
  deliveredLastHour: number;
  duplicates: number;
  refused: number;
  usedBytes: number;
  maxBytes: number;
}

export type DeviceTransport = "serial" | "ble" | "simulated" | "none";

export interface DeviceStatus {
  id: string;
  driver: string;
  transport: DeviceTransport;
  lastSeenAt: string | null;
  expectedIntervalSec: number | null;
  silent: boolean;
  /** Percent, where the device reports it. */
  battery: number | null;
  readings: number;
  malformedFrames: number;
  reconnects: number;
}

/** `linked`, `relink-needed`, `unlinked` (REST), `hl7-known`, `hl7-a28-sent`, `hl7-unknown` (HL7). */
export interface PatientStatus {
  key: string;
  route: string;
  link: string;
}

export interface AlertStatus {
  code: string;
  hint: string;
  since: string;
}

/** What a running device part tells the snapshot. */
export interface DeviceView {
  readonly device: DeviceConfig;
  readonly transport: DeviceTransport;
  readonly counters: DeviceCounters;
}

export interface StatusSources {
  config: Config;
  clock: Clock;
  startedMs: number;
  stats: () => BufferStats;
  devices: () => readonly DeviceView[];
  /** Link state per local patient key, from the routes that know it. */
  links: () => Map<string, string>;
  diskFree?: (dir: string) => number | null;
}

function zeroCounts(): StateCounts {
  return { held: 0, pending: 0, leased: 0, ambiguous: 0, quarantined: 0, delivered: 0, dead: 0 };
}

function counts(from: Partial<Record<string, number>>): StateCounts {
  const out = zeroCounts();
  for (const s of OUTBOX_STATES) out[s] = from[s] ?? 0;
  return out;
}

export function diskFreeBytes(dir: string): number | null {
  try {
    const fs = statfsSync(dir);
    return fs.bavail * fs.bsize;
  } catch {
    return null;
  }
}

let cachedVersion: string | undefined;

/** The package version, from package.json beside src/ (or dist/src/ once built). */
export function hubVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  cachedVersion = "unknown";
  for (const rel of ["../../package.json", "../../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), "utf8")) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === "pkb-hub" && typeof pkg.version === "string") {
        cachedVersion = pkg.version;
        break;
      }
    } catch {
      // try the next layout
    }
  }
  return cachedVersion;
}

/** noble adapter states in which nothing can be read (unknown and resetting are passing states). */
const ADAPTER_DOWN = new Set(["poweredOff", "unauthorized", "unsupported"]);

/**
 * A BLE device that cannot use the adapter: noble's state as the device last saw it (powered off,
 * not authorised, unsupported), or its last failure BLUETOOTH_UNAVAILABLE (noble could not load).
 */
function adapterDown(view: DeviceView): boolean {
  const { adapterState, lastErrorCode } = view.counters;
  return (
    view.transport === "ble" &&
    ((adapterState !== null && ADAPTER_DOWN.has(adapterState)) || lastErrorCode === "BLUETOOTH_UNAVAILABLE")
  );
}

function deviceStatus(view: DeviceView, nowMs: number, sinceMs: number): DeviceStatus {
  const { device, counters } = view;
  const expectedMs =
    device.expectedIntervalHours === undefined ? null : device.expectedIntervalHours * 3_600_000;
  return {
    id: device.id,
    driver: device.driver,
    transport: view.transport,
    lastSeenAt: counters.lastSeenMs === null ? null : new Date(counters.lastSeenMs).toISOString(),
    expectedIntervalSec: expectedMs === null ? null : Math.round(expectedMs / 1000),
    silent: isSilent(counters.lastSeenMs, expectedMs, nowMs, sinceMs),
    battery: counters.batteryPercent,
    readings: counters.readings,
    malformedFrames: counters.malformedFrames,
    reconnects: counters.reconnects,
  };
}

/** Silent: nothing seen for longer than expected, counting from the part's start when never seen. */
export function isSilent(
  lastSeenMs: number | null,
  expectedMs: number | null,
  nowMs: number,
  sinceMs: number,
): boolean {
  if (expectedMs === null) return false;
  return nowMs - (lastSeenMs ?? sinceMs) > expectedMs;
}

export function hubStatus(src: StatusSources): HubStatus {
  const now = src.clock.nowMs();
  const stats = src.stats();
  const byRoute: Record<string, StateCounts> = {};
  for (const [route, states] of Object.entries(stats.byRoute)) byRoute[route] = counts(states);
  const views = src.devices();
  const links = src.links();
  const usesBle = views.some((v) => v.transport === "ble");
  return {
    hub: src.config.hub.id,
    version: hubVersion(),
    at: new Date(now).toISOString(),
    uptimeSec: Math.max(0, Math.round((now - src.startedMs) / 1000)),
    buffer: {
      byState: counts(stats.byState),
      byRoute,
      unsent: stats.unsent,
      oldestUnsentAgeSec: stats.oldestUnsentAgeSec,
      deliveredLastHour: stats.deliveredLastHour,
      duplicates: stats.duplicates,
      refused: stats.refused,
      usedBytes: stats.usedBytes,
      maxBytes: stats.maxBytes,
    },
    devices: views.map((v) => deviceStatus(v, now, src.startedMs)),
    patients: src.config.patients.map((p) => ({
      key: p.key,
      route: p.route,
      link: links.get(p.key) ?? "unknown",
    })),
    diskFreeBytes: (src.diskFree ?? diskFreeBytes)(src.config.hub.dataDir),
    clockSynced: src.clock.isSynced(),
    bluetooth: !usesBle ? "unused" : views.some(adapterDown) ? "unavailable" : "available",
    alerts: stats.alerts
      .map((a) => ({ code: a.code, hint: alertHint(a.code), since: new Date(a.raisedMs).toISOString() }))
      .sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0)),
  };
}

/**
 * Alerts that follow from the state rather than from one event: raised while the condition holds,
 * cleared when it stops. Messages name devices and counts only.
 */
export function conditionAlerts(status: HubStatus): Map<string, string | undefined> {
  const silent = status.devices.filter((d) => d.silent).map((d) => d.id);
  const b = status.buffer.byState;
  return new Map([
    [
      "DEVICE_SILENT",
      silent.length > 0 ? `no data for longer than expected from device(s): ${silent.join(", ")}` : undefined,
    ],
    [
      "DEAD_LETTERS",
      b.dead > 0 ? "readings were dead-lettered and will not be sent without a person" : undefined,
    ],
    [
      "QUARANTINED_READINGS",
      b.quarantined > 0
        ? "readings with physically impossible values are quarantined (not forwarded)"
        : undefined,
    ],
    [
      "CLOCK_UNSYNCED",
      status.clockSynced ? undefined : "the hub clock is not synchronised: new readings are held until it is",
    ],
  ]);
}
