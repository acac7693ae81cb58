import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { parseConfig } from "../../src/config/load.js";
import { describeReload, type ReloadDeps, tellRunningAgent } from "../../src/ops/reload-notice.js";
import { tempDir } from "../support/tmp.js";
import { until } from "../support/wait.js";

const CLI = join(import.meta.dirname, "../../dist/src/cli/main.js");
const cli = (...args: string[]) => spawnSync("node", [CLI, ...args], { encoding: "utf8" });
const tmp = tempDir();
afterAll(() => tmp.cleanup());

function hubConfig(name: string, devices: string[]): string {
  const dir = join(tmp.dir, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "secret"), "s", { mode: 0o600 });
  const file = join(dir, "config.yaml");
  writeFileSync(
    file,
    [
      "# kitchen hub",
      `hub: { id: h1, dataDir: ${join(dir, "data")} }`,
      "clock: { mode: assume-synced }",
      "patients:",
      "  - { key: pa, route: pkb-rest, nhsNumber: '9434765919' }",
      "  - { key: pb, route: pkb-rest, nhsNumber: '9434765870' }",
      `routes: { pkbRest: { baseUrl: 'http://127.0.0.1:9', clientId: c, clientSecretFile: ${join(dir, "secret")} } }`,
      ...(devices.length > 0 ? ["devices:", ...devices] : []),
    ].join("\n"),
    { mode: 0o600 },
  );
  return file;
}

describe("pkb-hub devices pair", () => {
  it("re-pairing an existing device keeps simulate, options, user slots and the expected interval", () => {
    const file = hubConfig("keep", [
      "  - { id: ox, driver: nonin-serial, patient: pa, simulate: true, options: { packets: 5, packetsPerSec: 50 }, expectedIntervalHours: 12 }",
      "  - { id: bp, driver: ble-blood-pressure, userSlots: { '1': pa, '2': pb }, expectedIntervalHours: 24 }",
    ]);
    const r = cli(
      "devices",
      "pair",
      "bp",
      "--ble-address",
      "00:11:22:33:44:55",
      "--config",
      file,
      "--no-reload",
    );
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const ox = cli("devices", "pair", "ox", "--patient", "pb", "--config", file, "--no-reload");
    expect(ox.status).toBe(0);
    const raw = parseYaml(readFileSync(file, "utf8"));
    expect(raw.devices).toEqual([
      {
        id: "ox",
        driver: "nonin-serial",
        patient: "pb",
        simulate: true,
        options: { packets: 5, packetsPerSec: 50 },
        expectedIntervalHours: 12,
      },
      {
        id: "bp",
        driver: "ble-blood-pressure",
        userSlots: { "1": "pa", "2": "pb" },
        expectedIntervalHours: 24,
        bleAddress: "00:11:22:33:44:55",
      },
    ]);
    expect(readFileSync(file, "utf8").startsWith("# kitchen hub\n")).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(r.stdout).toContain("updated device bp (ble-blood-pressure) bound to user slots 1=pa, 2=pb in");
    expect(r.stdout).toContain("  this changes the configuration only: nothing was sent to the device\n");
    expect(r.stdout).toContain(
      "bond it once: bluetoothctl, then 'pair 00:11:22:33:44:55' and 'trust 00:11:22:33:44:55'",
    );
  });

  it("edits the device in place: comments on and between devices and the layout of the rest of the file stay", () => {
    const file = hubConfig("comments", [
      "  # bedroom oximeter, lent by the ward",
      "  - id: ox",
      "    driver: nonin-serial",
      "    patient: pa   # until the 12th",
      "    simulate: true",
      "  # the meter",
      "  - { id: m, driver: contour-serial, patient: pb }",
    ]);
    const before = readFileSync(file, "utf8");
    expect(cli("devices", "pair", "ox", "--patient", "pb", "--config", file, "--no-reload").status).toBe(0);
    const args = ["--serial-path", "/dev/pkb-hub/contour-1", "--config", file, "--no-reload"];
    expect(cli("devices", "pair", "m", ...args).status).toBe(0);
    expect(readFileSync(file, "utf8")).toBe(
      before
        .replace("    patient: pa   # until the 12th", "    patient: pb # until the 12th")
        .replace("patient: pb }", "patient: pb, serialPath: /dev/pkb-hub/contour-1 }")
        .concat("\n"),
    );
  });

  it("binds by user slots, refuses a slot naming an unknown patient and a transport that does not fit the driver", () => {
    const file = hubConfig("slots", []);
    const before = readFileSync(file, "utf8");
    const ghost = cli(
      "devices",
      "pair",
      "bp",
      "--driver",
      "ble-blood-pressure",
      "--user-slots",
      "1=pa,2=ghost",
      "--config",
      file,
    );
    expect(ghost.status).toBe(2);
    expect(ghost.stderr).toContain("--user-slots: no patient 'ghost' (patients: pa, pb)");
    const wrong = cli(
      "devices",
      "pair",
      "m",
      "--driver",
      "contour-serial",
      "--patient",
      "pa",
      "--ble-address",
      "00:11:22:33:44:55",
      "--config",
      file,
    );
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toContain(
      "contour-serial is a serial (USB) driver: a BLE address does not fit it (use serialPath)",
    );
    expect(readFileSync(file, "utf8")).toBe(before);
    const ok = cli(
      "devices",
      "pair",
      "bp",
      "--driver",
      "ble-blood-pressure",
      "--user-slots",
      "1=pa,2=pb",
      "--config",
      file,
    );
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain("no agent is running on this hub: the change is used when it starts");
  });

  it("says that the running agent applied the change (a real agent, SIGHUP, its note in the buffer)", async () => {
    const file = hubConfig("running", []);
    const config = parseConfig(parseYaml(readFileSync(file, "utf8")), file);
    const agent = spawn("node", [CLI, "run", "--config", file], { stdio: ["ignore", "pipe", "pipe"] });
    try {
      await until(() => existsSync(join(config.hub.dataDir, "agent.lock")), 20_000);
      const r = cli(
        "devices",
        "pair",
        "m",
        "--driver",
        "contour-serial",
        "--patient",
        "pa",
        "--serial-path",
        "/dev/pkb-hub-test-none",
        "--config",
        file,
      );
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(
        /the running agent \(pid \d+\) reloaded the configuration and uses the change now/,
      );
    } finally {
      agent.kill("SIGTERM");
      await new Promise((r) => agent.on("close", r));
    }
  });

  it("reports each outcome of telling the agent: applied, refused, no answer, not allowed, none running", async () => {
    const config = parseConfig({ hub: { id: "h", dataDir: join(tmp.dir, "none") } });
    let now = 1_000_000;
    let note: { atMs: number; ok: boolean; problems: number } | undefined;
    const deps = (answer: typeof note | "deny"): ReloadDeps => ({
      pid: () => 42,
      signal: () => {
        if (answer === "deny") throw Object.assign(new Error("EPERM"), { code: "EPERM" });
        note = answer;
      },
      note: () => note,
      nowMs: () => now,
      sleep: async (ms) => {
        now += ms;
      },
    });
    note = { atMs: now - 60_000, ok: true, problems: 0 };
    expect(await tellRunningAgent(config, deps({ atMs: now, ok: true, problems: 0 }))).toEqual({
      kind: "applied",
      pid: 42,
    });
    now += 5000;
    expect(await tellRunningAgent(config, deps({ atMs: now, ok: false, problems: 3 }))).toEqual({
      kind: "refused",
      pid: 42,
      problems: 3,
    });
    // An old note is not an answer.
    note = { atMs: now - 60_000, ok: true, problems: 0 };
    expect(await tellRunningAgent(config, deps(note), 1000)).toEqual({
      kind: "no-answer",
      pid: 42,
      waitedMs: 1000,
    });
    expect(await tellRunningAgent(config, deps("deny"))).toEqual({ kind: "not-allowed", pid: 42 });
    expect(await tellRunningAgent(config, { ...deps(undefined), pid: () => undefined })).toEqual({
      kind: "no-agent",
    });
    expect(describeReload({ kind: "refused", pid: 42, problems: 3 }, "c.yaml")).toBe(
      "the running agent (pid 42) REFUSED the new configuration (3 problem(s)) and keeps the old one: pkb-hub config check c.yaml",
    );
  });
});
