import { driverById } from "../../drivers/index.js";
import { newCounters } from "../agent/device-sink.js";
import { type DeviceTransport, type HubStatus, hubStatus } from "../agent/status.js";
import type { BufferStats } from "../buffer/stats.js";
import type { Config, DeviceConfig } from "../config/schema.js";
import { alertHint } from "../core/alert-hints.js";
import { FakeClock } from "../core/clock.js";
import type { BufferView, Delivery } from "./buffer-view.js";

/**
 * `pkb-hub status`: the agent's own PHI-free snapshot (agent/status.ts), built from what a separate
 * process can read — the buffer, the link files, the config — plus what a technician asks next:
 * is the agent running, the last deliveries, each alert's message and fix.
 */
export interface StatusReport {
  hub: string;
  version: string;
  at: string;
  agent: { running: boolean; pid: number | null };
  clock: { synced: boolean; timeZone: string };
  diskFreeBytes: number | null;
  buffer: HubStatus["buffer"] & { present: boolean; deadLetters: number };
  devices: Array<HubStatus["devices"][number] & { lastReadingAt: string | null }>;
  patients: Array<HubStatus["patients"][number] & { why?: string }>;
  lastDeliveries: Delivery[];
  alerts: Array<{ code: string; since: string; message: string; fix: string }>;
}

export interface StatusInputs {
  config: Config;
  nowMs: number;
  clockSynced: boolean;
  view: BufferView | undefined;
  links: Map<string, { state: string; why?: string }>;
  agentPid: number | undefined;
  diskFree: (dir: string) => number | null;
}

function emptyStats(config: Config): BufferStats {
  const zero = { held: 0, pending: 0, leased: 0, ambiguous: 0, quarantined: 0, delivered: 0, dead: 0 };
  return {
    byState: zero,
    byRoute: {},
    unsent: 0,
    oldestUnsentAgeSec: null,
    deadLetters: 0,
    ambiguous: 0,
    quarantined: 0,
    ambiguousDeliveries: 0,
    deliveredLastHour: 0,
    duplicates: 0,
    refused: 0,
    usedBytes: 0,
    maxBytes: config.buffer.maxSize,
    alerts: [],
  };
}

function transportOf(d: DeviceConfig): DeviceTransport {
  if (d.simulate) return "simulated";
  try {
    return driverById(d.driver).matcher.transport;
  } catch {
    return "none";
  }
}

export function statusReport(i: StatusInputs): StatusReport {
  const stats = i.view ? i.view.stats(i.nowMs) : emptyStats(i.config);
  const last = i.view?.lastReadingByDevice() ?? new Map<string, number>();
  // Silence counts from the last stored reading. A device never heard from, with an expected
  // interval, is silent: this process cannot know since when the agent has been waiting for it.
  const snapshot = hubStatus({
    config: i.config,
    clock: new FakeClock(i.nowMs, i.clockSynced),
    startedMs: 0,
    stats: () => stats,
    devices: () =>
      i.config.devices.map((device) => ({
        device,
        transport: transportOf(device),
        counters: { ...newCounters(), lastSeenMs: last.get(device.id) ?? null },
      })),
    links: () => new Map([...i.links].map(([k, v]) => [k, v.state])),
    diskFree: i.diskFree,
  });
  return {
    hub: snapshot.hub,
    version: snapshot.version,
    at: snapshot.at,
    agent: { running: i.agentPid !== undefined, pid: i.agentPid ?? null },
    clock: { synced: i.clockSynced, timeZone: i.config.hub.timeZone },
    diskFreeBytes: snapshot.diskFreeBytes,
    buffer: { ...snapshot.buffer, present: i.view !== undefined, deadLetters: stats.deadLetters },
    devices: snapshot.devices.map((d) => ({ ...d, lastReadingAt: d.lastSeenAt })),
    patients: snapshot.patients.map((p) => {
      const why = i.links.get(p.key)?.why;
      return why ? { ...p, why } : p;
    }),
    lastDeliveries: i.view?.lastDeliveries(5) ?? [],
    alerts: stats.alerts
      .map((a) => ({
        code: a.code,
        since: new Date(a.raisedMs).toISOString(),
        message: a.message,
        fix: alertHint(a.code),
      }))
      .sort((a, b) => a.code.localeCompare(b.code)),
  };
}

function ago(fromIso: string, nowMs: number): string {
  const s = Math.max(0, Math.round((nowMs - Date.parse(fromIso)) / 1000));
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  if (s < 172_800) return `${(s / 3600).toFixed(1)} h ago`;
  return `${(s / 86_400).toFixed(1)} days ago`;
}

function table(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? "").length)));
  const line = (r: string[]) =>
    r
      .map((cell, c) => cell.padEnd(widths[c] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(head), ...rows.map(line)];
}

/** The report as a technician reads it on a terminal. */
export function renderStatus(r: StatusReport): string[] {
  const now = Date.parse(r.at);
  const out: string[] = [];
  out.push(
    `hub ${r.hub} (pkb-hub ${r.version}) at ${r.at}: ${r.agent.running ? `agent running (pid ${r.agent.pid})` : "agent NOT running"}`,
  );
  out.push(
    `clock: ${r.clock.synced ? "synchronised" : "NOT synchronised (new readings are held)"}; time zone ${r.clock.timeZone}`,
  );
  if (r.diskFreeBytes !== null) out.push(`disk: ${(r.diskFreeBytes / 1024 ** 3).toFixed(1)} GiB free`);
  out.push("");
  out.push(
    ...table(
      ["DEVICE", "DRIVER", "TRANSPORT", "LAST READING", "EXPECTED", "SILENT"],
      r.devices.map((d) => [
        d.id,
        d.driver,
        d.transport,
        d.lastReadingAt ? `${d.lastReadingAt} (${ago(d.lastReadingAt, now)})` : "never",
        d.expectedIntervalSec === null ? "-" : `every ${+(d.expectedIntervalSec / 3600).toFixed(1)} h`,
        d.expectedIntervalSec === null ? "-" : d.silent ? "SILENT" : "no",
      ]),
    ),
  );
  out.push("");
  out.push(
    ...table(
      ["PATIENT", "ROUTE", "LINK"],
      r.patients.map((p) => [p.key, p.route, p.why ? `${p.link} (${p.why})` : p.link]),
    ),
  );
  out.push("");
  const s = r.buffer.byState;
  out.push(
    r.buffer.present
      ? `buffer: held ${s.held}, pending ${s.pending}, sending ${s.leased}, ambiguous ${s.ambiguous}, quarantined ${s.quarantined}, delivered ${s.delivered}, dead ${s.dead}; oldest unsent ${r.buffer.oldestUnsentAgeSec === null ? "none" : `${r.buffer.oldestUnsentAgeSec} s`}`
      : "buffer: none yet (the agent has not run)",
  );
  out.push("last deliveries:");
  if (r.lastDeliveries.length === 0) out.push("  none");
  for (const d of r.lastDeliveries)
    out.push(
      `  ${d.deliveredAt} (${ago(d.deliveredAt, now)})  #${d.id} ${d.route} ${d.patient} ${d.device ?? "-"} ${d.kind ?? ""}`.trimEnd(),
    );
  out.push(`alerts: ${r.alerts.length === 0 ? "none" : ""}`.trimEnd());
  for (const a of r.alerts) {
    out.push(`  ${a.code} since ${a.since}: ${a.message}`);
    out.push(`    fix: ${a.fix}`);
  }
  return out;
}
