import { eventSchema, healthSchema, stateSchema } from "./schemas.js";

/** What operations see of one hub: its last state, a summary of its last health, its recent events. */
export interface HubRow {
  hub: string;
  state: "online" | "offline" | "unknown";
  /** offline only: `shutdown` (clean stop) or `connection-lost` (the broker's last will). */
  offlineReason?: string;
  version?: string;
  healthAt?: string;
  unsent?: number;
  oldestUnsentAgeSec?: number | null;
  dead?: number;
  ambiguous?: number;
  quarantined?: number;
  deliveredLastHour?: number;
  silentDevices?: string[];
  relinkNeeded?: string[];
  clockSynced?: boolean;
  alerts: string[];
  events: Array<{ at: string; type: string; code: string }>;
  /** When anything about this hub last arrived (the watcher's clock). */
  updatedMs: number;
}

const EVENTS_KEPT = 20;

/**
 * The fleet as seen from the broker, built from the hubs' own topics. Pure (no I/O): `fleet watch`
 * and the demo feed it messages and render `rows()`. Payloads that fail their schema are counted
 * and ignored, so one misbehaving client cannot break the view.
 */
export class FleetView {
  private readonly hubs = new Map<string, HubRow>();
  invalid = 0;
  messages = 0;

  constructor(
    private readonly baseTopic = "pkb-hub",
    private readonly now: () => number = Date.now,
  ) {}

  private row(hub: string): HubRow {
    let row = this.hubs.get(hub);
    if (!row) {
      row = { hub, state: "unknown", alerts: [], events: [], updatedMs: this.now() };
      this.hubs.set(hub, row);
    }
    return row;
  }

  /** Takes one message; returns the hub it changed, or undefined when it was not a hub payload. */
  ingest(topic: string, payload: Uint8Array): string | undefined {
    this.messages++;
    const head = `${this.baseTopic}/`;
    if (!topic.startsWith(head)) return undefined;
    const [hub, kind, ...rest] = topic.slice(head.length).split("/");
    if (!hub || !kind || rest.length > 0 || !["state", "health", "events"].includes(kind)) return undefined;
    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(payload).toString("utf8"));
    } catch {
      this.invalid++;
      return undefined;
    }
    if (kind === "state") return this.onState(hub, json);
    if (kind === "health") return this.onHealth(hub, json);
    return this.onEvent(hub, json);
  }

  private onState(hub: string, json: unknown): string | undefined {
    const s = stateSchema.safeParse(json);
    if (!s.success || s.data.hub !== hub) return this.refuse();
    const row = this.row(hub);
    row.state = s.data.state;
    if (s.data.state === "offline") row.offlineReason = s.data.reason ?? "unknown";
    else delete row.offlineReason;
    if (s.data.version) row.version = s.data.version;
    row.updatedMs = this.now();
    return hub;
  }

  private onHealth(hub: string, json: unknown): string | undefined {
    const h = healthSchema.safeParse(json);
    if (!h.success || h.data.hub !== hub) return this.refuse();
    const d = h.data;
    const row = this.row(hub);
    Object.assign(row, {
      version: d.version,
      healthAt: d.at,
      unsent: d.buffer.unsent,
      oldestUnsentAgeSec: d.buffer.oldestUnsentAgeSec,
      dead: d.buffer.byState.dead,
      ambiguous: d.buffer.byState.ambiguous,
      quarantined: d.buffer.byState.quarantined,
      deliveredLastHour: d.buffer.deliveredLastHour,
      silentDevices: d.devices.filter((x) => x.silent).map((x) => x.id),
      relinkNeeded: d.patients
        .filter((p) => p.link === "relink-needed" || p.link === "unlinked")
        .map((p) => p.key),
      clockSynced: d.clockSynced,
      alerts: d.alerts.map((a) => a.code),
      updatedMs: this.now(),
    });
    return hub;
  }

  private onEvent(hub: string, json: unknown): string | undefined {
    const e = eventSchema.safeParse(json);
    if (!e.success || e.data.hub !== hub) return this.refuse();
    const row = this.row(hub);
    row.events.push({ at: e.data.at, type: e.data.type, code: e.data.code });
    if (row.events.length > EVENTS_KEPT) row.events.shift();
    row.updatedMs = this.now();
    return hub;
  }

  private refuse(): undefined {
    this.invalid++;
    return undefined;
  }

  get size(): number {
    return this.hubs.size;
  }

  get(hub: string): HubRow | undefined {
    return this.hubs.get(hub);
  }

  /** Hubs needing attention first (offline, alerts), then by id. */
  rows(): HubRow[] {
    const rank = (r: HubRow) => (r.state !== "online" ? 0 : r.alerts.length > 0 ? 1 : 2);
    return [...this.hubs.values()].sort(
      (a, b) => rank(a) - rank(b) || (a.hub < b.hub ? -1 : a.hub > b.hub ? 1 : 0),
    );
  }
}
