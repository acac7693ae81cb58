import type { Alert, AlertListener } from "../buffer/alerts.js";

/** Alert changes kept for the first listener at most (oldest dropped first). */
const BACKLOG_MAX = 256;

/**
 * Tells listeners (the MQTT monitor) of every alert raised or cleared. Alerts are raised before any
 * listener exists — the buffer opens (corrupt file moved aside, indexes repaired) in the agent's
 * constructor, the monitor subscribes in start() — so changes are kept until the first listener
 * subscribes, which then gets, each once and in order: the alerts still active from before this
 * run, then every change since. Later listeners get changes from when they subscribe.
 */
export class AlertFanout {
  private readonly listeners = new Set<AlertListener>();
  private backlog: Array<{ alert: Alert; active: boolean }> | undefined = [];
  private dropped = 0;

  constructor(private readonly onListenerError: (err: unknown) => void) {}

  emit(alert: Alert, active: boolean): void {
    if (this.backlog) {
      this.backlog.push({ alert, active });
      if (this.backlog.length > BACKLOG_MAX) {
        this.backlog.shift();
        this.dropped++;
      }
    }
    for (const listener of this.listeners) this.call(listener, alert, active);
  }

  /** `active` lists the alerts active now (the first listener is told of those the backlog misses). */
  subscribe(listener: AlertListener, active: () => Alert[]): () => void {
    const backlog = this.backlog;
    this.backlog = undefined;
    this.listeners.add(listener);
    if (backlog) {
      const covered = new Set(backlog.map((c) => c.alert.code));
      const before = active()
        .filter((a) => !covered.has(a.code))
        .sort((a, b) => a.raisedMs - b.raisedMs);
      for (const alert of before) this.call(listener, alert, true);
      for (const { alert, active } of backlog) this.call(listener, alert, active);
    }
    return () => this.listeners.delete(listener);
  }

  /** Changes lost from the backlog because it was full (none in practice). */
  get droppedBeforeListener(): number {
    return this.dropped;
  }

  private call(listener: AlertListener, alert: Alert, active: boolean): void {
    try {
      listener(alert, active);
    } catch (err) {
      // Alerts are raised inside buffer and route calls: a listener must never break those.
      this.onListenerError(err);
    }
  }
}
