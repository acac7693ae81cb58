import type { IClientOptions, IPublishPacket, MqttClient } from "mqtt";
import type { Component } from "../agent/context.js";
import { hubVersion } from "../agent/status.js";
import type { Alert } from "../buffer/alerts.js";
import { alertHint } from "../core/alert-hints.js";
import type { Clock } from "../core/clock.js";
import { isHubError } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import { clientOptions, exposedSecretFiles, type MqttSettings } from "./client-options.js";
import { answer } from "./commands.js";
import { EventQueue } from "./event-queue.js";
import type { MonitorHost } from "./host.js";
import { RuntimeGauge } from "./runtime.js";
import {
  type EventPayload,
  type HealthPayload,
  type ResponseErrorCode,
  SCHEMA_VERSION,
  type StatePayload,
} from "./schemas.js";
import { Topics } from "./topics.js";

export type Connect = (url: string, options: IClientOptions) => MqttClient;

export interface MonitorOptions {
  settings: MqttSettings;
  hubId: string;
  host: MonitorHost;
  clock: Clock;
  logger: Logger;
  /** Injected in tests; mqtt.connect otherwise. */
  connect?: Connect;
  random?: () => number;
}

/** Events published at once before waiting for acknowledgements (a slow broker holds no more). */
const MAX_EVENTS_IN_FLIGHT = 16;
/** Commands waiting their turn beyond the one running; more are answered COMMAND_BUSY. */
const MAX_COMMANDS_WAITING = 8;
/** Answers published and not yet acknowledged; more are dropped. */
const MAX_ANSWERS_IN_FLIGHT = 64;
/** Alert changes arriving together make one health publish. */
const HEALTH_COALESCE_MS = 250;
const STOP_WAIT_MS = 2000;

/** First reconnect wait before jitter; it doubles per failed attempt up to the ceiling. */
const RECONNECT_FIRST_MS = 1000;

/**
 * How long to wait before reconnect attempt `attempt` (0 after a connection was lost or at start):
 * 1 s doubling per failed attempt, capped at `ceilingMs`, then "equal jitter" — a uniform point in
 * the upper half [base/2, base) — so a fleet that lost its broker together does not come back in
 * one wave, and no wait exceeds the ceiling. `random` is in [0, 1).
 */
export function reconnectDelayMs(attempt: number, ceilingMs: number, random: number): number {
  const baseMs = Math.min(ceilingMs, RECONNECT_FIRST_MS * 2 ** Math.min(attempt, 16));
  return baseMs / 2 + (random * baseMs) / 2;
}

export function createMonitor(options: MonitorOptions): MqttMonitor {
  return new MqttMonitor(options);
}

function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  return Promise.race([p, new Promise<undefined>((r) => setTimeout(() => r(undefined), ms).unref())]);
}

/**
 * Fleet monitoring over MQTT. It only observes (status snapshot, alert changes) and answers a few
 * commands; it never carries a reading. Everything it does is asynchronous and bounded: a broker
 * that is down, slow or refusing never blocks ingest or forwarding — health is simply not sent
 * (the latest goes on reconnect), events wait in a bounded queue, reconnects back off.
 */
export class MqttMonitor implements Component {
  readonly name = "monitor:mqtt";
  readonly topics: Topics;
  private readonly log: Logger;
  private connectFn: Connect | undefined;
  private client: MqttClient | undefined;
  /** Bumped per connection: callbacks of an abandoned client are ignored. */
  private generation = 0;
  private connected = false;
  private stopping = false;
  private attempts = 0;
  private inOutage = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private healthTimer: NodeJS.Timeout | undefined;
  private healthSoon: NodeJS.Timeout | undefined;
  private healthInFlight = false;
  private healthAgain = false;
  private unsubscribe: (() => void) | undefined;
  private readonly events: EventQueue<EventPayload>;
  private readonly inFlight = new Map<number, EventPayload>();
  private seq = 0;
  private commands: Promise<void> = Promise.resolve();
  private commandsWaiting = 0;
  private answersInFlight = 0;
  private readonly runtime = new RuntimeGauge();

  constructor(private readonly o: MonitorOptions) {
    this.topics = new Topics(o.settings.baseTopic, o.hubId);
    this.log = o.logger.child({ component: "monitor" });
    this.events = new EventQueue(o.settings.eventQueueMax);
  }

  get isConnected(): boolean {
    return this.connected;
  }

  async start(): Promise<void> {
    this.connectFn = this.o.connect ?? (await import("mqtt")).connect;
    this.unsubscribe = this.o.host.onAlert((alert, active) => this.onAlert(alert, active));
    // Like the routes' secrets: monitoring goes on (stopping would not un-expose it), loudly.
    const exposed = exposedSecretFiles(this.o.settings);
    this.o.host.setAlert(
      "MQTT_SECRET_EXPOSED",
      exposed.length === 0
        ? undefined
        : `readable by other users: ${exposed.join(", ")}: chmod 600 and change them`,
    );
    this.runtime.start();
    this.healthTimer = setInterval(() => this.publishHealth(), this.o.settings.healthIntervalSec * 1000);
    this.healthTimer.unref();
    // Never awaited: the agent starts (and stores readings) whether or not a broker answers.
    this.attempt();
  }

  private attempt(): void {
    this.reconnectTimer = undefined;
    if (this.stopping || !this.connectFn) return;
    let options: IClientOptions;
    try {
      options = clientOptions(this.o.settings, this.o.hubId, this.topics);
    } catch (err) {
      this.outage(isHubError(err) ? `${err.code}: ${err.message}` : "cannot build the connection options");
      this.scheduleReconnect();
      return;
    }
    const generation = ++this.generation;
    let client: MqttClient;
    try {
      client = this.connectFn(this.o.settings.url, options);
    } catch (err) {
      this.outage(err instanceof Error ? err.message : String(err));
      this.scheduleReconnect();
      return;
    }
    this.client = client;
    const mine = () => generation === this.generation && !this.stopping;
    client.on("connect", () => mine() && this.onConnect(client));
    client.on("message", (topic, payload, packet) => mine() && this.onMessage(topic, payload, packet));
    client.on(
      "error",
      (err) => mine() && this.outage(`${(err as { code?: unknown }).code ?? "error"}: ${err.message}`),
    );
    client.on("close", () => mine() && this.onClose(client));
  }

  /** Logged once per outage at warn (then debug), so a long outage does not flood the log. */
  private outage(why: string): void {
    this.log[this.inOutage ? "debug" : "warn"](
      { why },
      "monitoring broker not reachable; readings are unaffected",
    );
    this.inOutage = true;
  }

  private scheduleReconnect(): void {
    if (this.stopping || this.reconnectTimer) return;
    const delayMs = reconnectDelayMs(
      this.attempts,
      this.o.settings.reconnectMaxSec * 1000,
      (this.o.random ?? Math.random)(),
    );
    this.attempts++;
    this.reconnectTimer = setTimeout(() => this.attempt(), delayMs);
    this.reconnectTimer.unref();
  }

  private onClose(client: MqttClient): void {
    this.connected = false;
    this.generation++;
    // Events sent but not acknowledged go back to the queue (at least once: consumers use seq).
    const unacked = [...this.inFlight.values()].sort((a, b) => b.seq - a.seq);
    this.inFlight.clear();
    for (const e of unacked) this.events.unshift(e);
    this.healthInFlight = false;
    this.answersInFlight = 0;
    client.removeAllListeners();
    client.on("error", () => {});
    client.end(true);
    if (this.client === client) this.client = undefined;
    this.scheduleReconnect();
  }

  private onConnect(client: MqttClient): void {
    this.connected = true;
    this.attempts = 0;
    if (this.inOutage) this.log.info("monitoring broker reachable again");
    else this.log.info({ topic: this.topics.prefix }, "monitoring connected");
    this.inOutage = false;
    const online: StatePayload = {
      schemaVersion: SCHEMA_VERSION,
      hub: this.o.hubId,
      state: "online",
      version: hubVersion(),
      at: new Date(this.o.clock.nowMs()).toISOString(),
    };
    client.publish(this.topics.state, JSON.stringify(online), { qos: 1, retain: true });
    if (this.o.settings.commands) client.subscribe(this.topics.requests, { qos: 1 });
    this.publishHealth();
    this.drain();
  }

  private safeStatus(): ReturnType<MonitorHost["status"]> | undefined {
    try {
      return this.o.host.status();
    } catch (err) {
      this.log.error({ code: isHubError(err) ? err.code : "INTERNAL" }, "status snapshot failed");
      return undefined;
    }
  }

  /** Health is never queued: when disconnected nothing is sent, and the latest goes on reconnect. */
  publishHealth(): void {
    const client = this.client;
    if (!this.connected || !client || this.stopping) return;
    // One health message in flight at a time: a slow broker does not pile them up.
    if (this.healthInFlight) {
      this.healthAgain = true;
      return;
    }
    const payload = this.healthPayload();
    if (!payload) return;
    const generation = this.generation;
    this.healthInFlight = true;
    this.healthAgain = false;
    client.publish(this.topics.health, JSON.stringify(payload), { qos: 1, retain: true }, () => {
      if (generation !== this.generation) return;
      this.healthInFlight = false;
      if (this.healthAgain) this.publishHealth();
    });
  }

  private healthPayload(): HealthPayload | undefined {
    const status = this.safeStatus();
    if (!status) return undefined;
    return {
      schemaVersion: SCHEMA_VERSION,
      ...status,
      monitor: { eventsQueued: this.events.length + this.inFlight.size, eventsDropped: this.events.dropped },
      runtime: this.runtime.sample(),
    };
  }

  private onAlert(alert: Alert, active: boolean): void {
    if (this.stopping) return;
    this.events.push({
      schemaVersion: SCHEMA_VERSION,
      hub: this.o.hubId,
      seq: this.seq++,
      at: new Date(this.o.clock.nowMs()).toISOString(),
      type: active ? "alert-raised" : "alert-cleared",
      code: alert.code,
      hint: alertHint(alert.code),
    });
    // Alerts are raised inside buffer and route calls: publish from a later turn, never from theirs.
    if (!this.healthSoon) {
      this.healthSoon = setTimeout(() => {
        this.healthSoon = undefined;
        this.drain();
        this.publishHealth();
      }, HEALTH_COALESCE_MS);
      this.healthSoon.unref();
    }
  }

  private drain(): void {
    const client = this.client;
    while (this.connected && client && this.inFlight.size < MAX_EVENTS_IN_FLIGHT) {
      const event = this.events.shift();
      if (!event) return;
      const generation = this.generation;
      this.inFlight.set(event.seq, event);
      client.publish(this.topics.events, JSON.stringify(event), { qos: 1 }, (err) => {
        if (generation !== this.generation) return;
        this.inFlight.delete(event.seq);
        if (err) this.events.unshift(event);
        else this.drain();
      });
    }
  }

  private onMessage(topic: string, payload: Buffer, packet: IPublishPacket): void {
    const op = this.topics.opOf(topic);
    if (op === undefined) return;
    if (packet.retain) {
      // A retained request would run again on every reconnect: requests are never retained.
      this.log.warn({ op }, "retained MQTT request ignored");
      return;
    }
    const props = packet.properties;
    let responseTopic = this.topics.response(op);
    let refuse: { code: ResponseErrorCode; message: string } | undefined;
    if (props?.responseTopic !== undefined) {
      if (this.topics.acceptsResponseTopic(props.responseTopic)) responseTopic = props.responseTopic;
      else
        refuse = {
          code: "RESPONSE_TOPIC_REFUSED",
          message: "the response topic must be under this hub's response/",
        };
    }
    const correlationData =
      props?.correlationData && props.correlationData.length <= 256 ? props.correlationData : undefined;
    if (!refuse && this.commandsWaiting >= MAX_COMMANDS_WAITING)
      refuse = { code: "COMMAND_BUSY", message: "too many commands waiting; try again later" };
    const copy = Buffer.from(payload);
    const run = async () => {
      const response = await answer(this.o.hubId, op, copy, this.o.host, refuse);
      this.log.info({ op: response.op, ok: response.ok }, "MQTT command answered");
      const client = this.client;
      // A flood of requests to a slow broker must not pile answers up in memory: beyond the bound
      // they are dropped (the requester times out and may ask again).
      if (!this.connected || !client || this.answersInFlight >= MAX_ANSWERS_IN_FLIGHT) return;
      this.answersInFlight++;
      const generation = this.generation;
      client.publish(
        responseTopic,
        JSON.stringify(response),
        { qos: 1, ...(correlationData ? { properties: { correlationData } } : {}) },
        () => {
          if (generation === this.generation) this.answersInFlight--;
        },
      );
    };
    if (refuse) {
      void run();
      return;
    }
    this.commandsWaiting++;
    this.commands = this.commands.then(run).finally(() => {
      this.commandsWaiting--;
    });
  }

  /** Publishes the retained `offline` (a clean stop: no last will), then disconnects. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.unsubscribe?.();
    for (const t of [this.reconnectTimer, this.healthSoon]) if (t) clearTimeout(t);
    if (this.healthTimer) clearInterval(this.healthTimer);
    this.runtime.stop();
    await within(this.commands, STOP_WAIT_MS);
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    if (this.connected) {
      const publish = (topic: string, payload: object) =>
        within(
          new Promise<void>((resolve) =>
            client.publish(topic, JSON.stringify(payload), { qos: 1, retain: true }, () => resolve()),
          ),
          STOP_WAIT_MS,
        );
      // The last numbers (the agent's other parts have stopped; its buffer is still open), then offline.
      const last = this.healthPayload();
      if (last) await publish(this.topics.health, last);
      const offline: StatePayload = {
        schemaVersion: SCHEMA_VERSION,
        hub: this.o.hubId,
        state: "offline",
        reason: "shutdown",
        at: new Date(this.o.clock.nowMs()).toISOString(),
      };
      await publish(this.topics.state, offline);
      this.connected = false;
      // A clean DISCONNECT: the broker discards the last will.
      await within(client.endAsync(), STOP_WAIT_MS);
    }
    client.removeAllListeners();
    client.on("error", () => {});
    client.end(true);
  }
}
