import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { type Mosquitto, startMosquitto } from "../../scripts/demo/mosquitto.js";
import { stateSchema } from "../../src/monitor/schemas.js";
import { tempDir } from "../support/tmp.js";
import { Capture, monitorConfig } from "./support.js";

const CLI = join(import.meta.dirname, "../../dist/src/cli/main.js");
const T = "pkb-hub/hub-test";
const tmp = tempDir("pkb-mon-lwt-");
let broker: Mosquitto;
beforeAll(async () => {
  broker = await startMosquitto({ dir: tmp.dir });
});
afterAll(async () => {
  await broker.stop();
  tmp.cleanup();
});

function runAgent(name: string) {
  const file = join(tmp.dir, `${name}.yaml`);
  writeFileSync(file, stringify(monitorConfig(join(tmp.dir, name), broker.url)), { mode: 0o600 });
  return spawn(process.execPath, [CLI, "run", "--config", file], { stdio: "ignore" });
}

describe("MQTT last will", () => {
  it("an agent SIGKILLed leaves the retained offline (reason connection-lost) from the broker's last will", async () => {
    const cap = await Capture.open(broker.url, [`${T}/state`]);
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
    const late = await Capture.open(broker.url, [`${T}/state`]);
    const retained = await late.waitFor(() => late.on(`${T}/state`)[0]);
    expect([retained.retain, JSON.parse(retained.text).reason]).toEqual([true, "connection-lost"]);
    await late.close();
  });

  it("an agent stopped with SIGTERM publishes offline (reason shutdown), and no last will follows", async () => {
    const cap = await Capture.open(broker.url, [`${T}/state`]);
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
