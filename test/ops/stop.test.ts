import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ANN } from "../support/pkb-patients.js";
import { type RestFixture, startRestFixture } from "../support/pkb-rest.js";
import { until } from "../support/wait.js";

const CLI = join(import.meta.dirname, "../../dist/src/cli/main.js");
let f: RestFixture | undefined;
afterEach(async () => {
  await f?.close();
  f = undefined;
});

describe("SIGTERM with a delivery in flight", () => {
  it("the request in flight is finished, not cut off: exit 0, no lease left, PKB holds exactly what the hub marked delivered", async () => {
    f = await startRestFixture();
    f.config = { ...f.config, clock: { ...f.config.clock, mode: "assume-synced" } };
    await f.link();
    for (let n = 1; n <= 3; n++) await f.buffer.ingest([f.reading(n)]);
    // Each request takes 1.5 s at PKB: SIGTERM comes while the first is on its way.
    f.pkb.setLatencyMs(1500);
    const child = spawn(process.execPath, [CLI, "run", "--config", f.writeConfig()], { stdio: "ignore" });
    const state = (s: string) =>
      f?.buffer.db.prepare("SELECT count(*) FROM outbox WHERE state = ?").pluck().get(s) as number;
    await until(() => state("leased") > 0, 20_000);
    const asked = Date.now();
    child.kill("SIGTERM");
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code).toBe(0);
    expect(Date.now() - asked).toBeLessThan(20_000);
    expect(state("leased")).toBe(0);
    const delivered = state("delivered");
    expect(delivered).toBeGreaterThanOrEqual(1);
    expect(delivered + state("pending")).toBe(3);
    // Give PKB time to finish anything a cut-off request had already handed it.
    await new Promise((r) => setTimeout(r, 2000));
    expect(f.pkb.records(ANN.id)).toHaveLength(delivered);
  }, 60_000);
});
