import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { stateSchema } from "../../src/monitor/schemas.js";
import { Capture, CLI, monitorConfig, suiteBroker } from "./support.js";

const T = "pkb-hub/hub-test";
const suite = suiteBroker("pkb-mon-lwt-");

function runAgent(name: string) {
  const file = join(suite.dir, `${name}.yaml`);
  writeFileSync(file, stringify(monitorConfig(join(suite.dir, name), suite.broker.url)), { mode: 0o600 });
  return spawn(process.execPath, [CLI, "run", "--config", file], { stdio: "ignore" });
}

describe("MQTT last will", () => {
  it("an agent SIGKILLed leaves the retained offline (reason connection-lost) from the broker's last will", async () => {
    const cap = await Capture.open(suite.broker.url, [`${T}/state`]);
    const child = runAgent("killed");
    await cap.waitFor(() => cap.last(`${T}/state`)?.state === "online", 15_000, "online");
    child.kill("SIGKILL");
    const will = await cap.waitFor(() =>
      cap.last(`${T}/state`)?.state === "offline" ? cap.last(`${T}/state`) : undefined,
    );
    expect(stateSchema.parse(will)).toEqual({
      schemaVersion: 1,
      hub: "hub-test",
      state: "offline",
      reason: "connection-lost",
    });
    await cap.close();
    const late = await Capture.open(suite.broker.url, [`${T}/state`]);
    const retained = await late.waitFor(() => late.on(`${T}/state`)[0]);
    expect([retained.retain, JSON.parse(retained.text).reason]).toEqual([true, "connection-lost"]);
    await late.close();
  });

  it("an agent stopped with SIGTERM publishes offline (reason shutdown), and no last will follows", async () => {
    const cap = await Capture.open(suite.broker.url, [`${T}/state`]);
    const child = runAgent("stopped");
    await cap.waitFor(() => cap.last(`${T}/state`)?.state === "online", 15_000, "online");
    const exited = new Promise<number | null>((r) => child.on("exit", r));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    const after = cap
      .json(`${T}/state`)
      .slice(cap.json(`${T}/state`).findLastIndex((s) => s.state === "online") + 1);
    expect(after.map((s) => [s.state, s.reason])).toEqual([["offline", "shutdown"]]);
    await cap.close();
  });
});
