/**
 * The agent as a long-running service: signals and systemd notifications.
 *   SIGTERM / SIGINT  stop: devices first (their last readings committed), sends in flight settled,
 *                     no lease left behind, buffer closed; STOPPING=1 first.
 *   SIGHUP            reload the configuration (Agent.reload: validated first; a bad file keeps the
 *                     running one with an alert); RELOADING=1 … READY=1 around it.
 *   SIGUSR2           debug logs for 30 minutes, then the configured level again (Agent.setLogLevel);
 *                     a lasting change is `log.level` in the config and a reload.
 *                     (SIGUSR1 is Node's inspector signal and is never used.)
 * Signals are queued from the first moment: one that comes while the agent starts is handled
 * once it runs, and SIGHUP never kills the process (its default action).
 */
import type { HubBuffer } from "../buffer/buffer.js";
import type { Logger } from "../core/log.js";
import type { LogLevel } from "../monitor/host.js";
import type { AgentContext } from "./context.js";
import type { SystemdNotify } from "./notify.js";
import type { ReloadResult } from "./reload.js";

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

/** What the service needs of the agent (Agent.reload and setLogLevel are built by `monitor`). */
export interface ServiceAgent {
  readonly ctx: AgentContext;
  stop(): Promise<void>;
  reload(): Promise<ReloadResult>;
  setLogLevel(level: LogLevel, durationSec: number): unknown;
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
  try {
    for (;;) {
      const signal = await signals.next();
      if (signal === "SIGTERM" || signal === "SIGINT") break;
      if (signal === "SIGUSR2") {
        agent.setLogLevel("debug", DEBUG_FOR_SEC);
        continue;
      }
      notify.reloading();
      const result = await agent.reload();
      notify.ready(
        result.ok ? status() : `${status()}; reload refused (${result.problems.length} problem(s))`,
      );
    }
  } finally {
    clearInterval(refresh);
  }
  notify.stopping();
  log.info("stopping: devices first, then deliveries in flight, then the buffer");
  await agent.stop();
}
