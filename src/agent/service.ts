/**
 * The agent as a long-running service: signals and systemd notifications.
 *   SIGTERM / SIGINT  stop: devices first (their last readings committed), sends in flight settled,
 *                     no lease left behind, buffer closed; STOPPING=1 first.
 *   SIGHUP            reload the configuration (Agent.reload: validated first; a bad file keeps the
 *                     running one with an alert); RELOADING=1 … READY=1 around it.
 *   SIGUSR2           debug logs for 30 minutes (again: back to the configured level).
 *                     (SIGUSR1 is Node's inspector signal and is never used.)
 * Signals are queued from the first moment: one that comes while the agent starts is handled
 * once it runs, and SIGHUP never kills the process (its default action).
 */
import type { HubBuffer } from "../buffer/buffer.js";
import type { Logger } from "../core/log.js";
import type { AgentContext } from "./context.js";
import type { SystemdNotify } from "./notify.js";

export const SERVICE_SIGNALS = ["SIGTERM", "SIGINT", "SIGHUP", "SIGUSR2"] as const;
export type ServiceSignal = (typeof SERVICE_SIGNALS)[number];

/** Signals caught and queued until the service asks for the next one. */
export class SignalInbox {
  private readonly queue: ServiceSignal[] = [];
  private wake: (() => void) | undefined;
  private readonly handlers = new Map<ServiceSignal, () => void>();

  constructor(private readonly proc: NodeJS.EventEmitter = process) {
    for (const signal of SERVICE_SIGNALS) {
      const handler = () => {
        this.queue.push(signal);
        this.wake?.();
      };
      this.handlers.set(signal, handler);
      proc.on(signal, handler);
    }
  }

  async next(): Promise<ServiceSignal> {
    for (;;) {
      const signal = this.queue.shift();
      if (signal) return signal;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = undefined;
    }
  }

  dispose(): void {
    for (const [signal, handler] of this.handlers) this.proc.removeListener(signal, handler);
    this.handlers.clear();
  }
}

/** True while the buffer answers a read of its file (false when closed, corrupt or failing). */
export function bufferAnswers(buffer: HubBuffer): boolean {
  try {
    buffer.db.prepare("SELECT max(id) FROM outbox").get();
    return true;
  } catch {
    return false;
  }
}

/** One PHI-free line for `systemctl status`: counts and alert codes only. */
export function statusLine(ctx: AgentContext): string {
  const s = ctx.buffer.stats();
  const alerts = s.alerts.map((a) => a.code);
  return (
    `running: ${ctx.config.devices.length} device(s), ${s.unsent} unsent, ${s.deadLetters} dead letter(s)` +
    (alerts.length > 0 ? `, alerts: ${alerts.join(" ")}` : "")
  );
}

/** What the service needs of the agent; `reload` and `setLogLevel` per the contract with `monitor`. */
export interface ServiceAgent {
  readonly ctx: AgentContext;
  stop(): Promise<void>;
  reload?: () => Promise<{ ok: true; applied: string[] } | { ok: false; problems: string[] }>;
  setLogLevel?: (level: "debug", durationSec: number) => unknown;
}

const DEBUG_FOR_SEC = 30 * 60;

/**
 * Runs a started agent until SIGTERM/SIGINT: READY, watchdog, a STATUS line a minute, reloads and
 * log level on their signals, STOPPING, stop. Resolves once the agent has stopped.
 */
export async function serve(options: {
  agent: ServiceAgent;
  notify: SystemdNotify;
  signals: SignalInbox;
  logger: Logger;
  configuredLevel: () => string;
  statusEveryMs?: number;
}): Promise<void> {
  const { agent, notify, signals, logger } = options;
  const log = logger.child({ component: "service" });
  const status = () => {
    try {
      return statusLine(agent.ctx);
    } catch {
      return "running (buffer not answering)";
    }
  };
  notify.ready(status());
  notify.startWatchdog(() => bufferAnswers(agent.ctx.buffer));
  const refresh = setInterval(() => notify.status(status()), options.statusEveryMs ?? 60_000);
  refresh.unref();
  let debugUntil: NodeJS.Timeout | undefined;
  try {
    for (;;) {
      const signal = await signals.next();
      if (signal === "SIGTERM" || signal === "SIGINT") break;
      if (signal === "SIGHUP") {
        notify.reloading();
        if (!agent.reload) {
          log.error("SIGHUP: this build cannot reload; restart the service to apply a new configuration");
          notify.ready(`${status()}; reload not supported: restart to apply`);
          continue;
        }
        const result = await agent.reload();
        notify.ready(
          result.ok ? status() : `${status()}; reload refused (${result.problems.length} problem(s))`,
        );
        continue;
      }
      // SIGUSR2: debug logs for a while, or back to the configured level.
      if (debugUntil || logger.level === "debug") {
        if (debugUntil) clearTimeout(debugUntil);
        debugUntil = undefined;
        logger.level = options.configuredLevel();
        log.warn({ level: logger.level }, "SIGUSR2: log level back to the configured one");
      } else if (agent.setLogLevel) {
        agent.setLogLevel("debug", DEBUG_FOR_SEC);
      } else {
        logger.level = "debug";
        log.warn({ level: "debug", durationSec: DEBUG_FOR_SEC }, "SIGUSR2: debug logs for a bounded time");
        debugUntil = setTimeout(() => {
          debugUntil = undefined;
          logger.level = options.configuredLevel();
          log.info({ level: logger.level }, "log level restored");
        }, DEBUG_FOR_SEC * 1000);
        debugUntil.unref();
      }
    }
  } finally {
    clearInterval(refresh);
    if (debugUntil) clearTimeout(debugUntil);
  }
  notify.stopping();
  log.info("stopping: devices first, then deliveries in flight, then the buffer");
  await agent.stop();
}
