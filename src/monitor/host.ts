import type { ReloadResult } from "../agent/reload.js";
import type { HubStatus } from "../agent/status.js";
import type { Alert } from "../buffer/alerts.js";

/** Levels a command may set (not `silent`: a remote hand must not be able to hide errors). */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * What the monitor may see and do in the agent: a PHI-free snapshot, alert changes, and the few
 * operations a command may ask for. Nothing here binds patients, runs code or returns PHI.
 */
export interface MonitorHost {
  status(): HubStatus;
  /**
   * Told of every alert raised or cleared; returns the unsubscribe function. The first listener is
   * also told of the alerts active before it subscribed and of every change since the agent opened
   * its buffer (a corrupt file moved aside at start is an event too), each once.
   */
  onAlert(listener: (alert: Alert, active: boolean) => void): () => void;
  /** Raises (with a message) or clears (undefined) one of the hub's alerts. */
  setAlert(code: string, message: string | undefined): void;
  /** Commits readings waiting for their transaction and wakes the routes. */
  flush(): void;
  /** Re-queues dead letters (one id, or all); resolves with how many. */
  retryDead(filter: { id?: number }): number;
  /** Sets the log level until `durationSec` has passed, then the configured level returns. */
  setLogLevel(level: LogLevel, durationSec: number): { level: LogLevel; untilMs: number };
  reload(): Promise<ReloadResult>;
}
