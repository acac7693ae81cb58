import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { loadConfig } from "../../src/config/load.js";
import { tempDir } from "../support/tmp.js";

const CLI = join(import.meta.dirname, "../../dist/src/cli/main.js");
const tmp = tempDir();
afterAll(() => tmp.cleanup());

function cli(args: string[], options: { input?: string; uid?: number; gid?: number } = {}) {
  return spawnSync("node", [CLI, ...args], {
    encoding: "utf8",
    input: options.input ?? "",
    ...(options.uid !== undefined ? { uid: options.uid, gid: options.gid ?? options.uid } : {}),
  });
}

/** Answers for a hub whose PKB and broker are on loopback (nothing leaves the machine). */
function answers(dir: string, over: Record<string, unknown> = {}): string {
  const file = join(dir, "answers.yaml");
  const base = {
    hub: { id: "hub-0042", timeZone: "Europe/London", dataDir: join(dir, "data") },
    pkb: {
      environment: "custom",
      baseUrl: "http://127.0.0.1:9",
      clientId: "pkb-hub-test",
      clientSecret: "s3cret",
    },
    hl7: { url: "http://127.0.0.1:9/hl7", username: "partner", password: "hl7pw", sendingFacility: "ALIAS" },
    patients: [
      { key: "patient-a", route: "pkb-rest", nhsNumber: "943 476 5919" },
      {
        key: "patient-b",
        route: "hl7",
        nhsNumber: "9434765870",
        firstName: "Ann",
        lastName: "Example",
        dob: "1950-01-31",
        sex: "F",
      },
    ],
    devices: [
      {
        id: "bp",
        driver: "ble-blood-pressure",
        bleAddress: "00:11:22:33:44:55",
        userSlots: { "1": "patient-a", "2": "patient-b" },
      },
      { id: "meter", driver: "contour-serial", patient: "patient-a", expectedIntervalHours: 24 },
    ],
    mqtt: { url: "mqtt://127.0.0.1:9", username: "hub", password: "mqpw" },
    ...over,
  };
  writeFileSync(file, JSON.stringify(base), { mode: 0o600 });
  return file;
}

function mode(file: string): string {
  return (statSync(file).mode & 0o777).toString(8);
}

describe("pkb-hub provision --answers", () => {
  it("writes a config that config check accepts, secrets and key 0600, then runs doctor and says what is next", () => {
    const dir = join(tmp.dir, "fresh");
    mkdirSync(dir);
    const config = join(dir, "etc", "config.yaml");
    const r = cli(["provision", "--config", config, "--answers", answers(dir)]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`wrote ${config} (2 patient(s), 2 device(s))`);
    expect(r.stdout).toContain("doctor:");
    expect(r.stdout).toContain(
      `link patient-a to their PKB account: pkb-hub link patient-a --config ${config}`,
    );
    expect(r.stdout).not.toContain("9434765870");
    expect(r.stdout).not.toContain("s3cret");
    const check = cli(["config", "check", config]);
    expect(check.status).toBe(0);
    expect(check.stdout).toBe(`${config}: OK (hub hub-0042, 2 patient(s), 2 device(s))\n`);
    for (const f of ["config.yaml", "client-secret", "hl7-password", "mqtt-password"])
      expect(mode(join(dir, "etc", f))).toBe("600");
    expect(readFileSync(join(dir, "etc", "client-secret"), "utf8")).toBe("s3cret\n");
    expect(mode(join(dir, "data"))).toBe("700");
    expect(mode(join(dir, "data", "secret.key"))).toBe("600");
    const cfg = loadConfig(config);
    expect(cfg.routes.pkbRest?.clientSecretFile).toBe(join(dir, "etc", "client-secret"));
    expect(cfg.patients.map((p) => [p.key, p.route, p.nhsNumber])).toEqual([
      ["patient-a", "pkb-rest", "9434765919"],
      ["patient-b", "hl7", "9434765870"],
    ]);
    expect(cfg.devices[0]?.userSlots).toEqual({ "1": "patient-a", "2": "patient-b" });
  });

  it("re-running edits: every setting it was not asked about is kept (device simulate, options, slots; buffer; route fields; comments)", () => {
    const dir = join(tmp.dir, "rerun");
    mkdirSync(join(dir, "etc"), { recursive: true });
    const config = join(dir, "etc", "config.yaml");
    writeFileSync(join(dir, "etc", "client-secret"), "old\n", { mode: 0o600 });
    writeFileSync(
      config,
      [
        "# site: kitchen hub",
        `hub: { id: hub-7, dataDir: ${join(dir, "data")} }`,
        "buffer: { maxSize: 64 MiB, retentionDays: 7 }",
        "patients:",
        "  - { key: p1, route: pkb-rest, nhsNumber: '9434765919' }",
        "devices:",
        "  # lent by the ward",
        "  - { id: ox, driver: nonin-serial, patient: p1, simulate: true, options: { packets: 5, packetsPerSec: 50 }, expectedIntervalHours: 12 }",
        "  - { id: bp, driver: ble-blood-pressure, userSlots: { '1': p1 } }",
        "routes:",
        `  pkbRest: { baseUrl: 'http://127.0.0.1:9', clientId: c, clientSecretFile: ${join(dir, "etc", "client-secret")}, requestTimeoutMs: 5000 }`,
      ].join("\n"),
      { mode: 0o600 },
    );
    const file = join(dir, "answers.yaml");
    writeFileSync(
      file,
      JSON.stringify({
        patients: [{ key: "p2", route: "pkb-rest", nhsNumber: "9434765870" }],
        devices: [
          { id: "ox", expectedIntervalHours: 6 },
          { id: "bp", bleAddress: "00:11:22:33:44:55" },
        ],
      }),
    );
    const r = cli(["provision", "--config", config, "--answers", file, "--no-doctor"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const text = readFileSync(config, "utf8");
    expect(text.startsWith("# site: kitchen hub\n")).toBe(true);
    // Edited in place: a comment inside a section that changed stays too.
    expect(text).toContain("devices:\n  # lent by the ward\n  - { id: ox, driver: nonin-serial,");
    const raw = parseYaml(text);
    expect(raw.buffer).toEqual({ maxSize: "64 MiB", retentionDays: 7 });
    expect(raw.routes.pkbRest.requestTimeoutMs).toBe(5000);
    expect(raw.devices).toEqual([
      {
        id: "ox",
        driver: "nonin-serial",
        patient: "p1",
        simulate: true,
        options: { packets: 5, packetsPerSec: 50 },
        expectedIntervalHours: 6,
      },
      { id: "bp", driver: "ble-blood-pressure", userSlots: { "1": "p1" }, bleAddress: "00:11:22:33:44:55" },
    ]);
    expect(raw.patients.map((p: { key: string }) => p.key)).toEqual(["p1", "p2"]);
    expect(readFileSync(join(dir, "etc", "client-secret"), "utf8")).toBe("old\n");
    expect(r.stdout).toContain(
      "kept the existing encryption key".length > 0 ? "generated the encryption key" : "",
    );
  });

  it("refuses an invalid NHS number and a cleartext PKB URL, writing nothing", () => {
    const dir = join(tmp.dir, "bad");
    mkdirSync(dir);
    const config = join(dir, "etc", "config.yaml");
    const badNhs = answers(dir, {
      patients: [{ key: "patient-a", route: "pkb-rest", nhsNumber: "943 476 5918" }],
      devices: [],
    });
    const r = cli(["provision", "--config", config, "--answers", badNhs]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(
      "patients[0].nhsNumber: NHS number must be 10 digits with a valid Modulus 11 check digit",
    );
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(dir, "etc"))).toBe(false);
    expect(existsSync(join(dir, "data"))).toBe(false);
    const badUrl = answers(dir, {
      pkb: { environment: "custom", baseUrl: "http://pkb.example.com", clientId: "c", clientSecret: "s" },
      hl7: { url: "ftp://pkb.example.com/hl7", username: "u", password: "p", sendingFacility: "A" },
    });
    const u = cli(["provision", "--config", config, "--answers", badUrl]);
    expect(u.status).toBe(2);
    expect(u.stderr).toContain(
      "routes.pkbRest.baseUrl: uses cleartext http:// to pkb.example.com: only https:// is allowed beyond loopback",
    );
    expect(u.stderr).toContain(
      "routes.hl7.url: uses the scheme ftp: : only https:// (or http:// to loopback) is allowed",
    );
    expect(existsSync(join(dir, "etc"))).toBe(false);
  });

  it.runIf(process.getuid?.() === 0)(
    "refuses a location the user cannot write, naming it, the user and the fix",
    () => {
      const dir = join(tmp.dir, "locked");
      mkdirSync(join(dir, "etc"), { recursive: true });
      chmodSync(dir, 0o755);
      chmodSync(join(dir, "etc"), 0o755);
      const file = answers(dir, { hub: { id: "h", dataDir: join(dir, "data") } });
      chmodSync(file, 0o644);
      chmodSync(tmp.dir, 0o755);
      // nobody (65534) cannot write the root-owned etc directory.
      const r = cli(["provision", "--config", join(dir, "etc", "config.yaml"), "--answers", file], {
        uid: 65534,
      });
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(
        `cannot write the configuration ${join(dir, "etc", "config.yaml")}: ${join(dir, "etc")} is not writable for user nobody (uid 65534). Fix: run provision as root (sudo pkb-hub provision …), or choose a location this user can write`,
      );
      expect(existsSync(join(dir, "etc", "config.yaml"))).toBe(false);
    },
  );

  it("refuses unknown keys in the answers file", () => {
    const dir = join(tmp.dir, "typo");
    mkdirSync(dir);
    const file = join(dir, "a.yaml");
    writeFileSync(file, "patients: [{ key: p1, nhs: '9434765919' }]\n");
    const r = cli(["provision", "--config", join(dir, "c.yaml"), "--answers", file]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("patients.0: unknown key(s): nhs");
  });
});

describe("pkb-hub provision, interactive", () => {
  it("is driven through its prompts from a pipe: a wrong NHS number and a bad URL are refused and asked again", async () => {
    const dir = join(tmp.dir, "interactive");
    mkdirSync(dir);
    const config = join(dir, "config.yaml");
    const lines = [
      "hub-9", // hub id
      "", // time zone: Europe/London
      join(dir, "data"), // data dir
      "custom",
      "http://pkb.example.com", // refused: cleartext
      "http://127.0.0.1:9", // accepted (loopback)
      "client-1",
      "the-secret",
      "n", // HL7
      "", // add a patient? default y (none yet)
      "patient-a",
      "", // route: pkb-rest
      "943 476 5918", // refused: check digit
      "943 476 5919",
      "", // first name (optional for REST)
      "",
      "",
      "n", // another patient?
      "y", // add a device
      "meter",
      "contour-serial",
      "", // serial path: by USB id
      "", // patient: patient-a
      "24",
      "n", // another device?
      "n", // MQTT
    ];
    const child = spawn("node", [CLI, "provision", "--config", config, "--no-doctor"], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stderr = "";
    let stdout = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.stdout.on("data", (d) => (stdout += d));
    child.stdin.end(`${lines.join("\n")}\n`);
    const code = await new Promise((r) => child.on("close", r));
    expect(stderr).toContain(
      "the address uses cleartext http:// to pkb.example.com: only https:// is allowed beyond loopback",
    );
    expect(stderr).toContain("not a valid NHS number: the check digit (Modulus 11) does not match");
    expect(code).toBe(0);
    expect(stdout).toContain(`wrote ${config} (1 patient(s), 1 device(s))`);
    const cfg = loadConfig(config);
    expect(cfg.hub).toMatchObject({ id: "hub-9", timeZone: "Europe/London", dataDir: join(dir, "data") });
    expect(cfg.patients).toEqual([{ key: "patient-a", route: "pkb-rest", nhsNumber: "9434765919" }]);
    expect(cfg.devices[0]).toMatchObject({
      id: "meter",
      driver: "contour-serial",
      patient: "patient-a",
      expectedIntervalHours: 24,
    });
    expect(readFileSync(join(dir, "client-secret"), "utf8")).toBe("the-secret\n");
    expect(stderr).not.toContain("the-secret");
  });

  it("stops with a clear error when the input ends before every question is answered", () => {
    const dir = join(tmp.dir, "eof");
    mkdirSync(dir);
    const r = cli(["provision", "--config", join(dir, "c.yaml"), "--no-doctor"], { input: "hub-1\n" });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('no answer for "  time zone": the input ended');
    expect(existsSync(join(dir, "c.yaml"))).toBe(false);
  });
});
