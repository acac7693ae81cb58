import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Agent } from "../../src/agent/agent.js";
import { alertHint } from "../../src/core/alert-hints.js";
import { eventSchema } from "../../src/monitor/schemas.js";
import { Capture, monitorConfig, startAgent, suiteBroker } from "./support.js";

const suite = suiteBroker("pkb-mon-events-");

const T = "pkb-hub/hub-test";

describe("MQTT events from real conditions", () => {
  let agent: Agent | undefined;
  let cap: Capture | undefined;
  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
    await cap?.close();
    cap = undefined;
  });

  it("a corrupt buffer moved aside at start is published once on events (raised before the monitor subscribed)", async () => {
    const dataDir = join(suite.dir, "corrupt");
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, "buffer.db"), randomBytes(64 * 1024), { mode: 0o600 });
    cap = await Capture.open(suite.broker.url, [`${T}/events`, `${T}/health`]);
    agent = await startAgent(monitorConfig(dataDir, suite.broker.url));
    const c = cap;
    const raised = await c.waitFor(
      () => c.json(`${T}/events`).find((e) => e.code === "BUFFER_CORRUPT"),
      10_000,
      "the BUFFER_CORRUPT event",
    );
    expect(eventSchema.parse(raised)).toMatchObject({
      type: "alert-raised",
      code: "BUFFER_CORRUPT",
      hint: alertHint("BUFFER_CORRUPT"),
    });
    // Once: a later health (alert changes, the interval) brings no second event for it.
    await c.waitFor(() => c.on(`${T}/health`).length >= 1, 5000, "health");
    await new Promise((r) => setTimeout(r, 500));
    expect(c.json(`${T}/events`).filter((e) => e.code === "BUFFER_CORRUPT")).toHaveLength(1);
    // The alert's message (it names the moved-aside path) stays on the hub.
    expect(c.messages.some((m) => m.text.includes(dataDir))).toBe(false);
  });
});
