import { describe, expect, it } from "vitest";
import { runDiskfull } from "../../scripts/chaos/diskfull.js";
import { mountSmallFs } from "../support/small-fs.js";

// The short version of `npm run chaos -- diskfull` (spawns the built agent: `npm test` builds first).
describe("diskfull (short)", () => {
  it("the agent on a disk that fills and is freed: nothing acknowledged lost, no crash, delivery while full", async (ctx) => {
    const probe = mountSmallFs(1024 * 1024);
    if (!probe) return ctx.skip("mounting a tmpfs is not permitted here (needs root)");
    probe.cleanup();
    const r = await runDiskfull({
      records: 80,
      fillAfter: 30,
      fullMs: 2000,
      fsBytes: 8 * 1024 * 1024,
      latencyMs: 100,
      tokenTtlSec: 3,
      ackTimeoutMs: 200,
      restartWhileFull: true,
      timeoutMs: 60_000,
    });
    const { agentLog: _log, ...figures } = r;
    // On failure the figures (with phase times and meter sessions) say what went wrong.
    if (r.lost > 0 || r.crashed > 0) process.stderr.write(`${JSON.stringify(r)}\n`);
    expect(figures).toMatchObject({
      produced: 80,
      stored: 80,
      lost: 0,
      crashed: 0,
      duplicates: 0,
      unsent: 0,
    });
    expect(r.refused).toBeGreaterThan(0);
    expect(r.delivered_while_full).toBeGreaterThan(0);
    expect(r.delivered).toBe(80);
  }, 90_000);
});
