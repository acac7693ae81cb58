/** Process figures for health: memory, and how late the event loop runs (ms; since the last sample). */
export interface RuntimeSample {
  rssBytes: number;
  eventLoopLagP99Ms: number;
  eventLoopLagMaxMs: number;
}

const KEEP = 4096;

/**
 * Event-loop lag as a hub can afford to measure it: a timer every `periodMs` notes how late it
 * fired (a blocked loop — a long transaction, a big JSON parse — makes it late by as much). Each
 * sample reports the lag since the previous one and starts afresh.
 */
export class RuntimeGauge {
  private timer: NodeJS.Timeout | undefined;
  private last = 0;
  private lags: number[] = [];

  constructor(private readonly periodMs = 100) {}

  start(): void {
    if (this.timer) return;
    this.last = performance.now();
    this.timer = setInterval(() => {
      const now = performance.now();
      if (this.lags.length >= KEEP) this.lags.shift();
      this.lags.push(Math.max(0, now - this.last - this.periodMs));
      this.last = now;
    }, this.periodMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  sample(): RuntimeSample {
    const sorted = this.lags.sort((a, b) => a - b);
    this.lags = [];
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
    return {
      rssBytes: process.memoryUsage.rss(),
      eventLoopLagP99Ms: Math.round(at(0.99) * 10) / 10,
      eventLoopLagMaxMs: Math.round((sorted.at(-1) ?? 0) * 10) / 10,
    };
  }
}
