import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/agent/agent.js";
import { parseConfig } from "../../src/config/load.js";
import { FakeClock } from "../../src/core/clock.js";
import { silentLogger } from "../../src/core/log.js";
import { tempDir } from "../support/tmp.js";

const tmp = tempDir();
let agent: Agent | undefined;
afterEach(async () => {
  await agent?.stop();
  tmp.cleanup();
});

describe("simulated Nonin oximeter through the agent", () => {
  it("streams packets over a real pty and stores condensed spot readings, not the raw stream", async () => {
    const secretFile = join(tmp.dir, "secret");
    writeFileSync(secretFile, "s", { mode: 0o600 });
    const config = parseConfig({
      hub: { id: "h", timeZone: "UTC", dataDir: join(tmp.dir, "data") },
      patients: [{ key: "p1", route: "pkb-rest" }],
      routes: { pkbRest: { baseUrl: "http://127.0.0.1:9", clientId: "c", clientSecretFile: secretFile } },
      devices: [
        {
          id: "ox",
          driver: "nonin-serial",
          patient: "p1",
          simulate: true,
          options: { packets: 90, packetsPerSec: 200, condenseWindowSec: 0.1, condenseMinSamples: 5 },
        },
      ],
    });
    // Wall time from a real clock so the condenser's windows follow the stream.
    const clock = new FakeClock(Date.now());
    const tick = setInterval(() => clock.advance(10), 10);
    agent = new Agent({ config, logger: silentLogger(), clock });
    await agent.start();
    const end = Date.now() + 10_000;
    while (Date.now() < end && agent.ctx.buffer.stats().byState.pending < 3)
      await new Promise((r) => setTimeout(r, 20));
    clearInterval(tick);
    const pending = agent.ctx.buffer.stats().byState.pending;
    expect(pending).toBeGreaterThanOrEqual(3);
    expect(pending).toBeLessThan(90); // condensed: far fewer readings than packets
    const body = JSON.parse(
      agent.ctx.buffer.db.prepare("SELECT body FROM readings LIMIT 1").pluck().get() as string,
    );
    expect(body.flags).toContain("condensed");
    expect(body.components.map((c: { id: string }) => c.id).sort()).toEqual(["pulse-rate", "spo2"]);
  }, 20_000);
});
