import { EventEmitter } from "node:events";
import type { MqttClient } from "mqtt";
import { afterEach, describe, expect, it, vi } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { SystemClock } from "../../src/core/clock.js";
import { silentLogger } from "../../src/core/log.js";
import type { MonitorHost } from "../../src/monitor/host.js";
import { createMonitor, reconnectDelayMs } from "../../src/monitor/monitor.js";
import { monitorConfig } from "./support.js";

describe("reconnect backoff", () => {
  it("doubles from 1 s per failed attempt, with jitter in the upper half, and never exceeds the ceiling", () => {
    const ceiling = 60_000;
    // The base (the longest wait) doubles: 1, 2, 4, 8, 16, 32 s, then stays at the 60 s ceiling.
    const longest = [0, 1, 2, 3, 4, 5, 6, 7, 20, 1000].map((a) => reconnectDelayMs(a, ceiling, 1));
    expect(longest).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000, 60_000]);
    // Jitter: the wait is anywhere in [base/2, base), linearly in the random draw.
    expect(reconnectDelayMs(3, ceiling, 0)).toBe(4000);
    expect(reconnectDelayMs(3, ceiling, 0.5)).toBe(6000);
    expect(reconnectDelayMs(3, ceiling, 0.25)).toBe(5000);
    for (let i = 0; i < 1000; i++) {
      const attempt = i % 12;
      const r = Math.random();
      const d = reconnectDelayMs(attempt, ceiling, r);
      const base = Math.min(ceiling, 1000 * 2 ** attempt);
      expect(d).toBeGreaterThanOrEqual(base / 2);
      expect(d).toBeLessThan(base);
      expect(d).toBeLessThanOrEqual(ceiling);
    }
    // Two hubs with different draws do not retry in step.
    expect(reconnectDelayMs(5, ceiling, 0.1)).not.toBe(reconnectDelayMs(5, ceiling, 0.9));
  });
});

/** A client that fails every connection at once ("close" on the next microtask), or connects when told. */
class FlakyClient extends EventEmitter {
  constructor(succeed: boolean) {
    super();
    queueMicrotask(() => (succeed ? this.emit("connect") : this.emit("close")));
  }
  publish(_t: string, _p: string, _o: unknown, cb?: () => void) {
    cb?.();
    return this;
  }
  subscribe() {
    return this;
  }
  end() {
    return this;
  }
}

const host: MonitorHost = {
  status: () => {
    throw new Error("not needed");
  },
  onAlert: () => () => {},
  setAlert: () => {},
  flush: () => {},
  retryDead: () => 0,
  setLogLevel: (level) => ({ level, untilMs: 0 }),
  reload: () => Promise.reject(new Error("not needed")),
};

describe("the monitor's reconnect schedule (fake clock)", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("a broker away: attempts at doubling, jittered waits up to reconnectMaxSec; after a connection the wait starts at 1 s again", async () => {
    vi.useFakeTimers({ now: 0 });
    const config = parseConfig(monitorConfig("/nonexistent", "mqtt://127.0.0.1:1", { reconnectMaxSec: 10 }));
    const settings = config.monitor.mqtt;
    if (!settings) throw new Error("no monitor config");
    const attempts: number[] = [];
    let succeedAt = -1;
    const monitor = createMonitor({
      settings,
      hubId: "hub-test",
      host,
      clock: new SystemClock({ mode: "assume-synced" }),
      logger: silentLogger(),
      random: () => 0.5,
      connect: () => {
        attempts.push(Date.now());
        return new FlakyClient(attempts.length === succeedAt) as unknown as MqttClient;
      },
    });
    await monitor.start();
    await vi.advanceTimersByTimeAsync(40_000);
    const waits = attempts.slice(1).map((t, i) => t - (attempts[i] ?? 0));
    // 0.75 × 1, 2, 4, 8 s, then 0.75 × the 10 s ceiling.
    expect(waits.slice(0, 7)).toEqual([750, 1500, 3000, 6000, 7500, 7500, 7500]);
    // The next attempt connects, then the connection drops: the wait is back to 0.75 × 1 s.
    succeedAt = attempts.length + 1;
    await vi.advanceTimersByTimeAsync(7500);
    expect(monitor.isConnected).toBe(true);
    const lostAt = Date.now();
    (monitor as unknown as { client: EventEmitter }).client.emit("close");
    await vi.advanceTimersByTimeAsync(2000);
    expect((attempts.at(-1) ?? 0) - lostAt).toBe(750);
    await monitor.stop();
  });
});
