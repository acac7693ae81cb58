import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { stateSchema } from "../../src/monitor/schemas.js";
import { Capture, CLI, monitorConfig, suiteBroker } from "./support.js";

const suite = suiteBroker("pkb-mon-lwt-");

/** A real `pkb-hub run` process with the monitor on, as hub `hub`. */
function runAgent(hub: string) {
  const file = join(suite.dir, `${hub}.yaml`);
  const input = monitorConfig(join(suite.dir, hub), suite.broker.url);
  writeFileSync(file, stringify({ ...input, hub: { ...input.hub, id: hub } }), { mode: 0o600 });
  const child = spawn(process.execPath, [CLI, "run", "--config", file], { stdio: "ignore" });
  const exited = new Promise<number | null>((r) => child.on("exit", r));
  return { child, exited };
}

describe("MQTT last will", () => {
  // Both agents run at once (one process start is the slow part); each test ends one of them.
  let cap: Capture;
  let killed: ReturnType<typeof runAgent>;
  let stopped: ReturnType<typeof runAgent>;
  const online = (hub: string) =>
    cap.waitFor(() => cap.last(`pkb-hub/${hub}/state`)?.state === "online", 20_000, `${hub} online`);

  it("an agent SIGKILLed leaves the retained offline (reason connection-lost) from the broker's last will", async () => {
    cap = await Capture.open(suite.broker.url, ["pkb-hub/+/state"]);
    killed = runAgent("lwt-killed");
    stopped = runAgent("lwt-stopped");
    await online("lwt-killed");
    killed.child.kill("SIGKILL");
    const will = await cap.waitFor(() => {
      const last = cap.last("pkb-hub/lwt-killed/state");
      return last?.state === "offline" ? last : undefined;
    });
    expect(stateSchema.parse(will)).toEqual({
      schemaVersion: 1,
      hub: "lwt-killed",
      state: "offline",
      reason: "connection-lost",
    });
    const late = await Capture.open(suite.broker.url, ["pkb-hub/lwt-killed/state"]);
    const retained = await late.waitFor(() => late.messages[0]);
    expect([retained.retain, JSON.parse(retained.text).reason]).toEqual([true, "connection-lost"]);
    await late.close();
  });

  it("an agent stopped with SIGTERM publishes offline (reason shutdown), and no last will follows", async () => {
    await online("lwt-stopped");
    stopped.child.kill("SIGTERM");
    expect(await stopped.exited).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    const states = cap.json("pkb-hub/lwt-stopped/state").map((s) => [s.state, s.reason ?? null]);
    expect(states).toEqual([
      ["online", null],
      ["offline", "shutdown"],
    ]);
    await cap.close();
  });
});
