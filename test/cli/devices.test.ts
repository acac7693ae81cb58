import { spawnSync } from "node:child_process";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { tempDir } from "../support/tmp.js";

const CLI = join(import.meta.dirname, "../../dist/src/cli/main.js");
const cli = (...args: string[]) => spawnSync("node", [CLI, ...args], { encoding: "utf8" });
const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe("pkb-hub decode", () => {
  it("prints the readings of a captured frame as JSON", () => {
    const r = cli(
      "decode",
      "--driver",
      "ble-blood-pressure",
      "--hex",
      "1e 7800 5000 5d00 ea070b18081e00 4800 01 0400",
      "--json",
    );
    expect(r.status).toBe(0);
    const readings = JSON.parse(r.stdout);
    expect(readings).toHaveLength(1);
    expect(readings[0].components).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: "8480-6", value: 120, unit: "mm[Hg]" }),
        expect.objectContaining({ code: "8867-4", value: 72, unit: "/min" }),
      ]),
    );
    expect(readings[0].measuredAt).toBe("2026-11-24T08:30:00.000+00:00");
  });

  it("uses the characteristic for multi-characteristic drivers", () => {
    const r = cli(
      "decode",
      "--driver",
      "ble-pulse-oximeter",
      "--characteristic",
      "0x2A5E",
      "--hex",
      "00 6100 4800",
      "--json",
    );
    expect(JSON.parse(r.stdout)[0].components[0]).toMatchObject({ code: "59408-5", value: 97, unit: "%" });
  });

  it("a malformed frame exits non-zero with the error code and no stack trace", () => {
    const r = cli("decode", "--driver", "ble-thermometer", "--hex", "00 74");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("FRAME_SHORT");
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(cli("decode", "--driver", "ble-thermometer", "--hex", "zz").stderr).toContain("USAGE");
    expect(cli("decode", "--driver", "nope", "--hex", "00").stderr).toContain("DRIVER_UNKNOWN");
  });
});

describe("pkb-hub devices", () => {
  const file = join(tmp.dir, "config.yaml");
  const base =
    "# hub config\nhub: { id: h1, dataDir: /tmp/x }\npatients:\n  - { key: pa, route: pkb-rest }\nroutes:\n  pkbRest: { baseUrl: 'https://pkb.invalid', clientId: c, clientSecretFile: /s }\n";

  it("pair binds a device to a patient, validated, keeping the file 0600 and its comments", () => {
    writeFileSync(file, base, { mode: 0o600 });
    const r = cli(
      "devices",
      "pair",
      "bp1",
      "--driver",
      "ble-blood-pressure",
      "--patient",
      "pa",
      "--ble-address",
      "00:11:22:33:44:55",
      "--config",
      file,
    );
    expect(r.status).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, "utf8")).toContain("# hub config");
    expect(loadConfig(file).devices).toEqual([
      expect.objectContaining({
        id: "bp1",
        driver: "ble-blood-pressure",
        patient: "pa",
        bleAddress: "00:11:22:33:44:55",
      }),
    ]);
  });

  it("refuses an unknown patient or driver and leaves the file untouched", () => {
    writeFileSync(file, base, { mode: 0o600 });
    const bad = cli(
      "devices",
      "pair",
      "bp1",
      "--driver",
      "ble-blood-pressure",
      "--patient",
      "nobody",
      "--config",
      file,
    );
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("unknown patient 'nobody'");
    const badDriver = cli("devices", "pair", "x", "--driver", "toaster", "--patient", "pa", "--config", file);
    expect(badDriver.status).toBe(2);
    expect(badDriver.stderr).toContain("unknown driver");
    expect(readFileSync(file, "utf8")).toBe(base);
  });

  it("scan lists serial ports and says clearly when Bluetooth is unavailable", () => {
    const r = cli("devices", "scan", "--ble-seconds", "1");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("serial ports:");
    expect(r.stdout).toMatch(/BLE: Bluetooth unavailable|BLE health devices:/);
  });
});
