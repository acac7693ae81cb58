import { isAbsolute, join } from "node:path";
import type { Alert } from "../buffer/alerts.js";
import { documentBodyBytes, HubBuffer } from "../buffer/buffer.js";
import { ConfigError, loadConfig } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { alertHint } from "../core/alert-hints.js";
import { type Clock, type SyncProbe, SystemClock } from "../core/clock.js";
import { ensureDataDir } from "../core/data-dir.js";
import { isHubError, messageOf } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import type { LogLevel, MonitorHost } from "../monitor/host.js";
import { AlertFanout } from "./alert-fanout.js";
import type { AgentContext, Component } from "./context.js";
import { createDevices, type DeviceComponent } from "./devices.js";
import { acquireLock } from "./lock.js";
import { planReload, problemText, type ReloadResult } from "./reload.js";
import { createRoutes, type RouteComponent, reclaimWaitsMs } from "./routes.js";
import { conditionAlerts, type HubStatus, hubStatus } from "./status.js";

export interface AgentOptions {
  config: Config;
  configFile?: string;
  logger: Logger;
  /** Injected in tests; the agent otherwise runs a SystemClock with the configured mode. */
  clock?: Clock;
  fetch?: typeof fetch;
  housekeepingMs?: number;
  /** Injected in tests: how the system clock learns it is synchronised. */
  syncProbe?: SyncProbe;
  /** How often state-derived alerts (silent device, dead letters, clock) are re-evaluated. */
  conditionsMs?: number;
}

/** kv key of the last reload's outcome (see Agent.noteReload). */
export const RELOAD_NOTE_KEY = "agent:last-reload";

export function bufferFile(config: Config): string {
  return isAbsolute(config.buffer.file) ? config.buffer.file : join(config.hub.dataDir, config.buffer.file);
}

function patientRoutes(config: Config): Map<string, string> {
  return new Map(config.patients.map((p) => [p.key, p.route] as const));
}

function bufferOptions(config: Config, clock: Clock, logger: Logger, routes: Map<string, string>) {
  return {
    file: bufferFile(config),
    clock,
    logger,
    routeOf: (patient: string) => routes.get(patient),
    maxSizeBytes: config.buffer.maxSize,
    retentionMs: config.buffer.retentionDays * 86_400_000,
    maxAttempts: config.buffer.maxAttempts,
    backoffBaseMs: config.buffer.backoffBaseMs,
    backoffMaxMs: config.buffer.backoffMaxMs,
    leaseMs: config.buffer.leaseSec * 1000,
    groupCommitMs: config.buffer.groupCommitMs,
    ...(config.routes.hl7
      ? { maxDocumentBodyBytes: documentBodyBytes(config.routes.hl7.maxDocumentBytes) }
      : {}),
  };
}

export function openBuffer(
  config: Config,
  clock: Clock,
  logger: Logger,
  onAlert?: ConstructorParameters<typeof HubBuffer>[0]["onAlert"],
  /** The agent passes its own map so a reload can change which route a patient's readings take. */
  routes: Map<string, string> = patientRoutes(config),
): HubBuffer {
  return new HubBuffer({ ...bufferOptions(config, clock, logger, routes), ...(onAlert ? { onAlert } : {}) });
}

/**
 * The buffer as a command (`outbox list|retry|resolve`) opens it, possibly while the agent
 * runs: rows can be read and changed, but repairing, salvaging and vacuuming the file and the disk
 * reserve stay the agent's (HubBufferOptions.role).
 */
export function openBufferAsTool(config: Config, clock: Clock, logger: Logger): HubBuffer {
  return new HubBuffer({ ...bufferOptions(config, clock, logger, patientRoutes(config)), role: "tool" });
}

/** A coded error's code for the log (never its message: a storage error may quote data). */
function codeOf(err: unknown): string {
  if (isHubError(err)) return err.code;
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return typeof code === "string" ? code : "INTERNAL";
}

/** The running agent: devices → buffer → routes, plus housekeeping and (when configured) the monitor. */
export class Agent implements MonitorHost {
  readonly ctx: AgentContext;
  private readonly parts: Component[] = [];
  private routes: RouteComponent[] = [];
  private devices: DeviceComponent[] = [];
  private monitor: Component | undefined;
  /** Alert changes for the monitor, kept from the buffer's opening until it subscribes. */
  private readonly alertFanout = new AlertFanout((err) =>
    this.log.error({ code: codeOf(err) }, "alert listener failed"),
  );
  private readonly routeOfPatient: Map<string, string>;
  private startedMs: number;
  private running = false;
  private reloading: Promise<ReloadResult> | undefined;
  private logLevelTimer: NodeJS.Timeout | undefined;
  private housekeeping: NodeJS.Timeout | undefined;
  private conditions: NodeJS.Timeout | undefined;
  private housekeepingRun: Promise<void> | undefined;
  private releaseLock: (() => void) | undefined;
  private readonly systemClock: SystemClock | undefined;
  private readonly log: Logger;

  constructor(private readonly options: AgentOptions) {
    const { config, logger } = options;
    this.log = logger.child({ component: "agent" });
    ensureDataDir(config.hub.dataDir);
    this.releaseLock = acquireLock(config.hub.dataDir);
    let clock = options.clock;
    if (!clock) {
      this.systemClock = new SystemClock({
        mode: config.clock.mode,
        onSyncChange: (synced) => this.onClockSync(synced),
        onListenerError: (err) => this.log.error({ code: codeOf(err) }, "clock sync handling failed"),
        ...(options.syncProbe ? { probe: options.syncProbe } : {}),
      });
      clock = this.systemClock;
    }
    this.startedMs = clock.nowMs();
    this.routeOfPatient = patientRoutes(config);
    try {
      const buffer = openBuffer(
        config,
        clock,
        logger,
        (alert, active) => {
          // The message names devices, patients' keys and counts only; the fix is fixed text.
          this.log[active ? "error" : "info"](
            active
              ? { alert: alert.code, message: alert.message, fix: alertHint(alert.code) }
              : { alert: alert.code },
            active ? "alert raised" : "alert cleared",
          );
          this.alertFanout.emit(alert, active);
        },
        this.routeOfPatient,
      );
      this.ctx = {
        config,
        ...(options.configFile ? { configFile: options.configFile } : {}),
        buffer,
        clock,
        logger,
        dataDir: config.hub.dataDir,
        fetch: options.fetch ?? fetch,
        pokeRoutes: () => {
          for (const r of this.routes) r.poke();
        },
      };
    } catch (err) {
      this.releaseLock();
      throw err;
    }
  }

  private onClockSync(synced: boolean): void {
    this.log.info({ synced }, "clock synchronisation changed");
    if (synced) void this.releaseHeld();
    if (this.running) this.checkConditions();
  }

  /** Never rejects: a storage error here is logged (with its code) and retried by the next housekeeping pass. */
  private async releaseHeld(): Promise<void> {
    try {
      const { released, unrecoverable } = await this.ctx.buffer.releaseHeld();
      if (released + unrecoverable > 0)
        this.log.info({ released, unrecoverable }, "held readings re-timed after clock sync");
    } catch (err) {
      this.log.error({ code: codeOf(err) }, "releasing held readings failed; housekeeping will retry");
    }
  }

  /** One pass at a time (a pass yields between chunks, so the next tick may come while it runs); never rejects. */
  private async housekeepingPass(): Promise<void> {
    if (this.housekeepingRun) return;
    this.housekeepingRun = this.ctx.buffer
      .housekeeping()
      .then(({ released, unrecoverable }) => {
        if (released + unrecoverable > 0)
          this.log.info({ released, unrecoverable }, "held readings re-timed by housekeeping");
      })
      .catch((err: unknown) => this.log.error({ code: codeOf(err) }, "housekeeping failed"))
      .finally(() => {
        this.housekeepingRun = undefined;
      });
    await this.housekeepingRun;
  }

  async start(): Promise<void> {
    const reclaimed = this.ctx.buffer.outbox.reclaimAll(reclaimWaitsMs(this.options.config));
    if (reclaimed > 0) this.log.warn({ reclaimed }, "leases from a previous run reclaimed");
    await this.systemClock?.start(this.options.config.clock.checkIntervalSec * 1000);
    this.ctx.buffer.onReleased = () => this.ctx.pokeRoutes();
    await this.releaseHeld();
    this.startedMs = this.ctx.clock.nowMs();
    const mqtt = this.options.config.monitor.mqtt;
    if (mqtt) {
      // Loaded only when configured: the mqtt package costs memory a hub without monitoring keeps.
      const { createMonitor } = await import("../monitor/monitor.js");
      const monitor = createMonitor({
        settings: mqtt,
        hubId: this.options.config.hub.id,
        host: this,
        clock: this.ctx.clock,
        logger: this.ctx.logger,
      });
      this.monitor = monitor;
      this.parts.push(monitor);
    }
    this.routes = await createRoutes(this.ctx);
    this.devices = createDevices(this.ctx);
    this.parts.push(...this.routes, ...this.devices);
    try {
      for (const part of this.parts) await part.start();
    } catch (err) {
      // A part that cannot start (e.g. an unreadable secret) stops the whole agent cleanly.
      await this.stop();
      throw err;
    }
    this.running = true;
    const every = this.options.housekeepingMs ?? 60_000;
    this.housekeeping = setInterval(() => void this.housekeepingPass(), every);
    this.housekeeping.unref();
    this.checkConditions();
    this.conditions = setInterval(() => this.checkConditions(), this.options.conditionsMs ?? 60_000);
    this.conditions.unref();
    this.log.info(
      { hub: this.options.config.hub.id, devices: this.options.config.devices.length },
      "agent started",
    );
  }

  /** A PHI-free snapshot of the hub (MQTT health, `status`). */
  status(): HubStatus {
    return hubStatus({
      config: this.ctx.config,
      clock: this.ctx.clock,
      startedMs: this.startedMs,
      stats: () => this.ctx.buffer.stats(),
      devices: () => this.devices,
      links: () => {
        const all = new Map<string, string>();
        for (const r of this.routes) for (const [k, v] of r.linkStates?.() ?? []) all.set(k, v);
        return all;
      },
    });
  }

  onAlert(listener: (alert: Alert, active: boolean) => void): () => void {
    return this.alertFanout.subscribe(listener, () => this.ctx.buffer.alerts.list());
  }

  /** Raises or clears the alerts that follow from the state (silent device, dead letters, clock). */
  checkConditions(): void {
    try {
      for (const [code, message] of conditionAlerts(this.status())) this.setAlert(code, message);
    } catch (err) {
      this.log.error({ err }, "condition check failed");
    }
  }

  setAlert(code: string, message: string | undefined): void {
    if (message === undefined) this.ctx.buffer.alerts.clear(code);
    else this.ctx.buffer.alerts.raise(code, message, this.ctx.clock.nowMs());
  }

  flush(): void {
    this.ctx.buffer.flush();
    this.ctx.pokeRoutes();
  }

  retryDead(filter: { id?: number }): number {
    const n = this.ctx.buffer.outbox.retryDead(filter);
    if (n > 0) {
      this.ctx.pokeRoutes();
      this.checkConditions();
    }
    return n;
  }

  setLogLevel(level: LogLevel, durationSec: number): { level: LogLevel; untilMs: number } {
    if (this.logLevelTimer) clearTimeout(this.logLevelTimer);
    // Children follow the root logger's level, so every component's logger changes with it.
    this.options.logger.level = level;
    this.log.warn({ level, durationSec }, "log level changed for a bounded time");
    this.logLevelTimer = setTimeout(() => {
      this.logLevelTimer = undefined;
      this.options.logger.level = this.ctx.config.log.level;
      this.log.info({ level: this.ctx.config.log.level }, "log level restored");
    }, durationSec * 1000);
    this.logLevelTimer.unref();
    return { level, untilMs: this.ctx.clock.nowMs() + durationSec * 1000 };
  }

  /**
   * Re-reads and validates the config file. A bad one changes nothing: the running config stays,
   * CONFIG_RELOAD_FAILED is raised and the answer lists every problem. A good one is applied:
   * the log level at once, routes and devices restarted only when their sections changed; the
   * sections bound at start (hub, buffer, clock, monitor) wait for a restart and the answer says so.
   */
  reload(): Promise<ReloadResult> {
    const run = async (): Promise<ReloadResult> => {
      await this.reloading?.catch(() => undefined);
      return this.doReload();
    };
    const p = run();
    this.reloading = p;
    return p;
  }

  private async doReload(): Promise<ReloadResult> {
    const file = this.options.configFile;
    const fail = (problems: string[]): ReloadResult => {
      const message = `configuration ${file ?? "(none)"} not applied (${problems.length} problem(s)); the running configuration is kept`;
      this.ctx.buffer.alerts.raise("CONFIG_RELOAD_FAILED", message, this.ctx.clock.nowMs());
      this.noteReload(false, problems.length);
      this.log.error({ problems }, "config reload refused");
      return { ok: false, problems };
    };
    if (!this.running) return { ok: false, problems: ["the agent is not running"] };
    if (!file) return fail(["the agent was started without a config file"]);
    let next: Config;
    try {
      next = loadConfig(file);
    } catch (err) {
      if (err instanceof ConfigError) return fail(err.problems.map(problemText));
      return fail([isHubError(err) ? `${err.code}: ${err.message}` : messageOf(err)]);
    }
    const plan = planReload(this.ctx.config, next);
    const applied: string[] = [];
    if (plan.logLevelChanged && !this.logLevelTimer) this.options.logger.level = plan.config.log.level;
    if (plan.logLevelChanged) applied.push("log");
    const running = this.ctx.config;
    this.ctx.config = plan.config;
    if (plan.restartRoutes || plan.restartDevices) {
      try {
        await this.restartParts(plan.restartRoutes, plan.restartDevices);
      } catch (err) {
        // Valid but unable to start (e.g. an unreadable secret): back to what ran before.
        this.ctx.config = running;
        if (plan.logLevelChanged && !this.logLevelTimer) this.options.logger.level = running.log.level;
        try {
          await this.restartParts(plan.restartRoutes, plan.restartDevices);
        } catch (again) {
          this.log.error({ code: codeOf(again) }, "the running configuration could not be restarted either");
        }
        return fail([
          `the new configuration could not start: ${isHubError(err) ? `${err.code}: ${err.message}` : codeOf(err)}`,
        ]);
      }
      if (plan.restartRoutes) applied.push("patients", "routes");
      if (plan.restartDevices) applied.push("devices");
    }
    this.ctx.buffer.alerts.clear("CONFIG_RELOAD_FAILED");
    this.checkConditions();
    const result = { ok: true as const, applied: [...new Set(applied)], restartNeeded: plan.restartNeeded };
    this.noteReload(true, 0);
    this.log.info(result, "config reloaded");
    return result;
  }

  /**
   * The outcome of the last reload, where another process (`pkb-hub devices pair`, which sends the
   * SIGHUP) can read it: when, whether it was applied, how many problems. No PHI.
   */
  private noteReload(ok: boolean, problems: number): void {
    try {
      this.ctx.buffer.kvSet(RELOAD_NOTE_KEY, JSON.stringify({ atMs: Date.now(), ok, problems }));
    } catch (err) {
      this.log.warn({ code: codeOf(err) }, "the reload outcome could not be noted");
    }
  }

  /** Stops the changed parts (devices first, as at stop) and starts them again from ctx.config. */
  private async restartParts(routes: boolean, devices: boolean): Promise<void> {
    const old = [...(devices ? this.devices : []), ...(routes ? this.routes : [])];
    for (const part of old) {
      try {
        await part.stop();
      } catch (err) {
        this.log.error({ err, part: part.name }, "stop failed");
      }
    }
    this.routeOfPatient.clear();
    for (const [k, v] of patientRoutes(this.ctx.config)) this.routeOfPatient.set(k, v);
    if (routes) this.routes = await createRoutes(this.ctx);
    if (devices) {
      const lastSeen = new Map(this.devices.map((d) => [d.device.id, d.counters.lastSeenMs] as const));
      this.devices = createDevices(this.ctx);
      for (const d of this.devices) d.counters.lastSeenMs = lastSeen.get(d.device.id) ?? null;
    }
    // Same order as at start, so stop() still stops devices, then routes, then the monitor.
    this.parts.length = 0;
    this.parts.push(...(this.monitor ? [this.monitor] : []), ...this.routes, ...this.devices);
    for (const part of [...(routes ? this.routes : []), ...(devices ? this.devices : [])]) await part.start();
  }

  /** Stops devices first (their last readings are committed), then routes, then closes the buffer. */
  async stop(): Promise<void> {
    this.running = false;
    await this.reloading?.catch(() => undefined);
    if (this.housekeeping) clearInterval(this.housekeeping);
    if (this.conditions) clearInterval(this.conditions);
    if (this.logLevelTimer) clearTimeout(this.logLevelTimer);
    await this.housekeepingRun;
    for (const part of [...this.parts].reverse()) {
      try {
        await part.stop();
      } catch (err) {
        this.log.error({ err, part: part.name }, "stop failed");
      }
    }
    this.parts.length = 0;
    this.systemClock?.stop();
    this.ctx.buffer.close();
    this.releaseLock?.();
    this.releaseLock = undefined;
    this.log.info("agent stopped");
  }
}
