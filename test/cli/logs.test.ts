import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/agent/agent.js";
import { parseConfig } from "../../src/config/load.js";
import { alertHint } from "../../src/core/alert-hints.js";
import { batchSummary } from "../../src/forward/loop.js";
import { prettyLine } from "../../src/ops/pretty-log.js";
import { captureLogs } from "../support/logs.js";
import { type RestFixture, startRestFixture } from "../support/pkb-rest.js";
import { until } from "../support/wait.js";

let f: RestFixture | undefined;
afterEach(async () => {
  await f?.close();
  f = undefined;
});

describe("logs a technician can follow", () => {
  it("one info line per device session (device, readings counted, no values) and per delivery batch", async () => {
    f = await startRestFixture();
    await f.link();
    const config = parseConfig({
      ...f.config,
      hub: { ...f.config.hub, dataDir: f.dataDir },
      clock: { mode: "assume-synced" },
      devices: [
        {
          id: "meter",
          driver: "contour-serial",
          patient: "p1",
          simulate: true,
          options: { records: 3, frameDelayMs: 5 },
        },
      ],
    });
    const log = captureLogs();
    const agent = new Agent({ config, logger: log.logger });
    await agent.start();
    try {
      await until(
        () => log.parsed().some((l) => l.msg === "delivery batch" && Number(l.delivered) > 0),
        20_000,
      );
      await until(() => agent.ctx.buffer.stats().byState.delivered === 3, 20_000);
    } finally {
      await agent.stop();
    }
    const lines = log.parsed();
    const sessions = lines.filter((l) => l.msg === "device session ended");
    expect(sessions.length).toBeGreaterThanOrEqual(1);
    expect(sessions[0]).toMatchObject({
      level: 30,
      component: "device",
      device: "meter",
      driver: "contour-serial",
      readings: 3,
      duplicates: 0,
      refusedFrames: 0,
      notStored: 0,
    });
    const batches = lines.filter((l) => l.msg === "delivery batch");
    expect(batches.every((b) => b.level === 30 && b.component === "forward-pkb-rest")).toBe(true);
    expect(batches.reduce((n, b) => n + Number(b.delivered), 0)).toBe(3);
    // Counts only: no reading value, no NHS number anywhere at info level.
    const text = log.lines.join("\n");
    expect(text).not.toContain("9434765919");
    expect(text).not.toMatch(/"(value|values|components)"/);
  }, 40_000);

  it("every alert is logged with its message and its fix; an unsynchronised clock raises one", async () => {
    f = await startRestFixture();
    const config = parseConfig({ ...f.config, hub: { ...f.config.hub, dataDir: join(f.dir, "clock") } });
    const log = captureLogs();
    const agent = new Agent({ config, logger: log.logger, syncProbe: async () => false, conditionsMs: 50 });
    await agent.start();
    try {
      await until(() => log.parsed().some((l) => l.alert === "CLOCK_UNSYNCED"), 10_000);
    } finally {
      await agent.stop();
    }
    const alert = log.parsed().find((l) => l.alert === "CLOCK_UNSYNCED");
    expect(alert).toMatchObject({
      level: 50,
      msg: "alert raised",
      message: "the hub clock is not synchronised: new readings are held until it is",
      fix: alertHint("CLOCK_UNSYNCED"),
    });
  });

  it("--pretty: time, level, where, message, fields; an alert's message and fix on their own lines", () => {
    const at = new Date(2026, 10, 25, 9, 5, 7).getTime();
    expect(
      prettyLine(
        JSON.stringify({
          level: 30,
          time: at,
          service: "pkb-hub",
          component: "device",
          device: "meter",
          msg: "device session ended",
          readings: 3,
          duplicates: 0,
        }),
      ),
    ).toBe("09:05:07 INFO  [device meter] device session ended  readings=3 duplicates=0");
    expect(
      prettyLine(
        JSON.stringify({
          level: 50,
          time: at,
          component: "agent",
          msg: "alert raised",
          alert: "DEAD_LETTERS",
          message: "readings were dead-lettered",
          fix: "run pkb-hub outbox list",
        }),
      ),
    ).toBe(
      "09:05:07 ERROR [agent] alert raised  alert=DEAD_LETTERS\n    readings were dead-lettered\n    fix: run pkb-hub outbox list",
    );
    expect(prettyLine("not json")).toBe("not json");
  });

  it("a batch summary counts each outcome (an ambiguous retry apart)", () => {
    expect(
      batchSummary(5, [
        { ids: [1, 2], outcome: { kind: "delivered" } },
        { ids: [3], outcome: { kind: "retry", error: "x" } },
        { ids: [4], outcome: { kind: "retry", error: "x", ambiguous: true } },
        { ids: [5], outcome: { kind: "rejected", reason: "r" } },
      ]),
    ).toEqual({ rows: 5, delivered: 2, retry: 1, rejected: 1, ambiguous: 1 });
  });
});
