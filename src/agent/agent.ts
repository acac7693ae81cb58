import { isAbsolute, join } from "node:path";
import { HubBuffer } from "../buffer/buffer.js";
import type { Config } from "../config/schema.js";
import { type Clock, type SyncProbe, SystemClock } from "../core/clock.js";
import { ensureDataDir } from "../core/data-dir.js";
import { isHubError } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import type { AgentContext, Component } from "./context.js";
import { createDevices } from "./devices.js";
import { acquireLock } from "./lock.js";
import { createRoutes, type RouteComponent } from "./routes.js";

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
}

export function bufferFile(config: Config): string {
  return isAbsolute(config.buffer.file) ? config.buffer.file : join(config.hub.dataDir, config.buffer.file);
}

export function openBuffer(
  config: Config,
  clock: Clock,
  logger: Logger,
  onAlert?: ConstructorParameters<typeof HubBuffer>[0]["onAlert"],
): HubBuffer {
  const routes = new Map(config.patients.map((p) => [p.key, p.route] as const));
  return new HubBuffer({
    file: bufferFile(config),
    clock,
    logger,
    routeOf: (patient) => routes.get(patient),
    maxSizeBytes: config.buffer.maxSize,
    retentionMs: config.buffer.retentionDays * 86_400_000,
    maxAttempts: config.buffer.maxAttempts,
    backoffBaseMs: config.buffer.backoffBaseMs,
    backoffMaxMs: config.buffer.backoffMaxMs,
    leaseMs: config.buffer.leaseSec * 1000,
    groupCommitMs: config.buffer.groupCommitMs,
    ...(onAlert ? { onAlert } : {}),
  });
}

/** A coded error's code for the log (never its message: a storage error may quote data). */
function codeOf(err: unknown): string {
  if (isHubError(err)) return err.code;
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return typeof code === "string" ? code : "INTERNAL";
}

/** The running agent: devices → buffer → routes, plus housekeeping. */
export class Agent {
  readonly ctx: AgentContext;
  private readonly parts: Component[] = [];
  private routes: RouteComponent[] = [];
  private housekeeping: NodeJS.Timeout | undefined;
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
    try {
      const buffer = openBuffer(config, clock, logger, (alert, active) =>
        this.log[active ? "error" : "info"]({ alert: alert.code }, active ? "alert raised" : "alert cleared"),
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
    const reclaimed = this.ctx.buffer.outbox.reclaimAll();
    if (reclaimed > 0) this.log.warn({ reclaimed }, "leases from a previous run reclaimed");
    await this.systemClock?.start(this.options.config.clock.checkIntervalSec * 1000);
    this.ctx.buffer.onReleased = () => this.ctx.pokeRoutes();
    await this.releaseHeld();
    this.routes = createRoutes(this.ctx);
    this.parts.push(...this.routes, ...createDevices(this.ctx));
    try {
      for (const part of this.parts) await part.start();
    } catch (err) {
      // A part that cannot start (e.g. an unreadable secret) stops the whole agent cleanly.
      await this.stop();
      throw err;
    }
    const every = this.options.housekeepingMs ?? 60_000;
    this.housekeeping = setInterval(() => void this.housekeepingPass(), every);
    this.housekeeping.unref();
    this.log.info(
      { hub: this.options.config.hub.id, devices: this.options.config.devices.length },
      "agent started",
    );
  }

  /** Stops devices first (their last readings are committed), then routes, then closes the buffer. */
  async stop(): Promise<void> {
    if (this.housekeeping) clearInterval(this.housekeeping);
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
