import { describe, expect, it } from "vitest";
import { RuntimeGauge } from "../../src/monitor/runtime.js";
import { healthSchema } from "../../src/monitor/schemas.js";

describe("runtime figures in health", () => {
  it("a blocked event loop shows as lag since the last sample; RSS is the process's; the next sample starts afresh", async () => {
    const gauge = new RuntimeGauge(20);
    gauge.start();
    try {
      await new Promise((r) => setTimeout(r, 100));
      const t = performance.now();
      while (performance.now() - t < 150) {
        // the loop is blocked (a long transaction would do this)
      }
      await new Promise((r) => setTimeout(r, 60));
      const s = gauge.sample();
      expect(s.eventLoopLagMaxMs).toBeGreaterThanOrEqual(100);
      expect(s.rssBytes).toBeGreaterThan(10 * 1024 * 1024);
      await new Promise((r) => setTimeout(r, 100));
      expect(gauge.sample().eventLoopLagMaxMs).toBeLessThan(100);
      expect(healthSchema.shape.runtime.unwrap().parse(s)).toEqual(s);
    } finally {
      gauge.stop();
    }
  });
});
