/**
 * systemd's notification protocol (sd_notify(3)) for `Type=notify`: READY, STATUS, RELOADING,
 * STOPPING and WATCHDOG datagrams on the unix datagram socket named by NOTIFY_SOCKET.
 *
 * Node's dgram has no AF_UNIX datagrams. We send them from this very process with unix-dgram (a
 * small maintained native module, built like better-sqlite3), so the unit can keep
 * `NotifyAccess=main`: systemd believes only the main PID. The alternative, spawning
 * `systemd-notify`, needs `NotifyAccess=all` (any process of the service may then claim READY or
 * feed the watchdog), forks a process for every watchdog ping, and loses messages when the helper
 * exits before systemd has read its credentials.
 */
import type { Logger } from "../core/log.js";

/** Sends one datagram to the notify socket. Injected in tests. */
export type NotifySend = (message: string) => void;

/** Opens the sender for a socket path; loads the native module only when systemd asked for it. */
export type NotifyConnect = (path: string) => Promise<{ send: NotifySend; close: () => void }>;

const unixDgram: NotifyConnect = async (path) => {
  const { createSocket } = await import("unix-dgram");
  const socket = createSocket("unix_dgram");
  // A full socket (systemd busy) drops one message; the next status or ping carries on.
  socket.on("error", () => {});
  socket.on("congestion", () => {});
  return {
    send: (message) => {
      const buf = Buffer.from(message);
      socket.send(buf, 0, buf.length, path);
    },
    close: () => socket.close(),
  };
};

/** One line per field; a value never carries a newline (it would start a new field). */
function encode(fields: Record<string, string | number>): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k}=${String(v).replace(/[\r\n]+/g, " ")}`)
    .join("\n");
}

export interface NotifyEnv {
  NOTIFY_SOCKET?: string | undefined;
  WATCHDOG_USEC?: string | undefined;
  WATCHDOG_PID?: string | undefined;
}

/** The watchdog interval systemd asked this process for (sd_watchdog_enabled(3)), in ms. */
export function watchdogMs(env: NotifyEnv, pid = process.pid): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isSafeInteger(usec) || usec <= 0) return undefined;
  if (env.WATCHDOG_PID !== undefined && env.WATCHDOG_PID !== "" && Number(env.WATCHDOG_PID) !== pid)
    return undefined;
  return Math.max(1, Math.floor(usec / 1000));
}

export class SystemdNotify {
  private watchdog: NodeJS.Timeout | undefined;
  private withheld = false;

  private constructor(
    private readonly sender: { send: NotifySend; close: () => void } | undefined,
    readonly watchdogIntervalMs: number | undefined,
    private readonly log: Logger,
  ) {}

  /**
   * From the environment systemd gives the service. The variables are removed from `env`
   * afterwards (as sd_notify's unset_environment does) so child processes — socat, simulators —
   * never talk to systemd in the agent's name. Without NOTIFY_SOCKET every call does nothing.
   */
  static async fromEnv(
    env: NotifyEnv,
    logger: Logger,
    connect: NotifyConnect = unixDgram,
  ): Promise<SystemdNotify> {
    const log = logger.child({ component: "systemd" });
    const path = env.NOTIFY_SOCKET;
    const interval = watchdogMs(env);
    for (const k of ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"] as const) delete env[k];
    if (!path) return new SystemdNotify(undefined, undefined, log);
    if (!path.startsWith("/")) {
      // Abstract (@…) and vsock: addresses are used by containers, not by a hub's systemd.
      log.error({ socket: path }, "NOTIFY_SOCKET is not a file-system path; systemd will not hear READY");
      return new SystemdNotify(undefined, undefined, log);
    }
    try {
      return new SystemdNotify(await connect(path), interval, log);
    } catch (err) {
      log.error({ err }, "cannot open NOTIFY_SOCKET; systemd will not hear READY");
      return new SystemdNotify(undefined, undefined, log);
    }
  }

  get enabled(): boolean {
    return this.sender !== undefined;
  }

  send(fields: Record<string, string | number>): void {
    if (!this.sender) return;
    try {
      this.sender.send(encode(fields));
    } catch (err) {
      this.log.warn({ err }, "sd_notify failed");
    }
  }

  ready(status: string): void {
    this.send({ READY: 1, STATUS: status, MAINPID: process.pid });
  }

  status(status: string): void {
    this.send({ STATUS: status });
  }

  /** Before a reload: systemd shows "reloading" until the next READY. */
  reloading(): void {
    const monotonicUsec = process.hrtime.bigint() / 1000n;
    this.send({
      RELOADING: 1,
      STATUS: "reloading the configuration",
      MONOTONIC_USEC: monotonicUsec.toString(),
    });
  }

  stopping(status = "stopping: finishing readings in flight"): void {
    this.stopWatchdog();
    this.send({ STOPPING: 1, STATUS: status });
  }

  /**
   * Pings the watchdog at half the interval systemd asked for, but only while `healthy()` says
   * yes. A blocked event loop sends nothing (the timer cannot fire); a buffer that does not
   * answer withholds the ping; either way systemd restarts the service after WatchdogSec.
   */
  startWatchdog(healthy: () => boolean): void {
    if (!this.sender || this.watchdogIntervalMs === undefined || this.watchdog) return;
    const tick = () => {
      let ok = false;
      try {
        ok = healthy();
      } catch {
        ok = false;
      }
      if (ok) {
        if (this.withheld) this.log.info("health back: watchdog pings resumed");
        this.withheld = false;
        this.send({ WATCHDOG: 1 });
      } else if (!this.withheld) {
        this.withheld = true;
        this.log.error(
          "agent unhealthy (buffer not answering): watchdog pings withheld, systemd will restart it",
        );
      }
    };
    tick();
    this.watchdog = setInterval(tick, Math.max(1, Math.floor(this.watchdogIntervalMs / 2)));
    this.watchdog.unref();
  }

  stopWatchdog(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = undefined;
  }

  close(): void {
    this.stopWatchdog();
    this.sender?.close();
  }
}
