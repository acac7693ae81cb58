import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/agent/agent.js";
import { parseConfig } from "../../src/config/load.js";
import { FakeClock } from "../../src/core/clock.js";
import { silentLogger } from "../../src/core/log.js";
import { bpReading, sendOnce } from "../support/buffer.js";
import { tempDir } from "../support/tmp.js";

let tmp: ReturnType<typeof tempDir>;
let agent: Agent | undefined;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(async () => {
  await agent?.stop();
  agent = undefined;
  tmp.cleanup();
});

/** An agent with a real buffer; its patient is not linked, so nothing is sent unless the test sends it. */
function makeAgent(clock: FakeClock): Agent {
  const secretFile = join(tmp.dir, "secret");
  writeFileSync(secretFile, "s", { mode: 0o600 });
  return new Agent({
    config: parseConfig({
      hub: { id: "h1", dataDir: join(tmp.dir, "data") },
      patients: [{ key: "p1", route: "pkb-rest" }],
      routes: { pkbRest: { baseUrl: "http://127.0.0.1:9", clientId: "c", clientSecretFile: secretFile } },
    }),
    logger: silentLogger(),
    clock,
  });
}

/** What health would publish: the buffer counts and the alert codes. */
function health(a: Agent) {
  a.checkConditions();
  const s = a.status();
  return {
    byState: s.buffer.byState,
    clockSynced: s.clockSynced,
    alerts: s.alerts.map((x) => x.code).sort(),
  };
}

describe("alerts that follow from the buffer and the clock, through a real buffer and the agent's health", () => {
  it("a quarantined reading is counted in health and raises QUARANTINED_READINGS; a dead letter raises DEAD_LETTERS until it is retried", async () => {
    const clock = new FakeClock();
    agent = makeAgent(clock);
    const buffer = agent.ctx.buffer;
    expect(health(agent).alerts).toEqual([]);
    await buffer.ingest([
      { ...bpReading(clock), quarantine: "physically impossible: bp-systolic outside 0–500" },
    ]);
    expect(health(agent)).toMatchObject({ byState: { quarantined: 1 }, alerts: ["QUARANTINED_READINGS"] });
    await buffer.ingest([bpReading(clock)]);
    sendOnce(buffer, "pkb-rest", { kind: "rejected", reason: "refused by PKB" });
    expect(health(agent)).toMatchObject({
      byState: { quarantined: 1, dead: 1 },
      alerts: ["DEAD_LETTERS", "QUARANTINED_READINGS"],
    });
    expect(agent.retryDead({})).toBe(1);
    expect(health(agent)).toMatchObject({ byState: { dead: 0 }, alerts: ["QUARANTINED_READINGS"] });
  });

  it("an unsynchronised hub clock raises CLOCK_UNSYNCED and holds new readings; the alert clears once it synchronises", async () => {
    const clock = new FakeClock(Date.UTC(2026, 10, 24, 12), false);
    agent = makeAgent(clock);
    await agent.ctx.buffer.ingest([{ ...bpReading(clock), timeSource: "hub-unsynced" }]);
    expect(health(agent)).toMatchObject({
      clockSynced: false,
      byState: { held: 1 },
      alerts: ["CLOCK_UNSYNCED"],
    });
    clock.synced = true;
    expect(health(agent)).toMatchObject({ clockSynced: true, alerts: [] });
  });
});
