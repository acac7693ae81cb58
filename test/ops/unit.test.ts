import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DRIVERS } from "../../drivers/index.js";
import { tempDir } from "../support/tmp.js";

const SYSTEMD = join(import.meta.dirname, "../../systemd");
const UNIT = join(SYSTEMD, "pkb-hub.service");
const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** `systemd-analyze security --offline=yes` of the unit installed in a root (with drop-ins). */
function exposure(name: string, dropIns: string[]): { level: number; stderr: string } {
  const root = join(tmp.dir, name);
  const dir = join(root, "etc/systemd/system");
  mkdirSync(join(dir, "pkb-hub.service.d"), { recursive: true });
  copyFileSync(UNIT, join(dir, "pkb-hub.service"));
  for (const d of dropIns)
    copyFileSync(join(SYSTEMD, d), join(dir, "pkb-hub.service.d", d.split("/").at(-1) ?? d));
  const r = spawnSync("systemd-analyze", ["security", "--offline=yes", `--root=${root}`, "pkb-hub.service"], {
    encoding: "utf8",
  });
  const m = /Overall exposure level for pkb-hub\.service: (\d+\.\d)/.exec(r.stdout);
  if (!m) throw new Error(`systemd-analyze printed no level: ${r.stdout}${r.stderr}`);
  return { level: Number(m[1]), stderr: r.stderr };
}

/** `Key=value` settings of the unit, in order. */
function settings(text: string): Array<{ key: string; value: string; line: number }> {
  return text.split("\n").flatMap((l, i) => {
    const m = /^([A-Za-z]+)=(.*)$/.exec(l);
    return m ? [{ key: m[1] as string, value: m[2] as string, line: i }] : [];
  });
}

describe("systemd unit", () => {
  it("systemd-analyze security: at most 2.0 with BLE and at most 1.5 with the serial-only drop-in, no unknown setting", () => {
    const ble = exposure("ble", []);
    const serial = exposure("serial", ["serial-only/serial-only.conf"]);
    expect(ble.stderr).toBe("");
    expect(serial.stderr).toBe("");
    expect(ble.level).toBeLessThanOrEqual(2.0);
    expect(serial.level).toBeLessThanOrEqual(1.5);
  });

  it("Type=notify from the main pid with a watchdog, restarts on failure for ever, reloads with SIGHUP", () => {
    const s = Object.fromEntries(settings(readFileSync(UNIT, "utf8")).map((x) => [x.key, x.value]));
    expect(s).toMatchObject({
      Type: "notify",
      NotifyAccess: "main",
      WatchdogSec: "60",
      Restart: "on-failure",
      StartLimitIntervalSec: "0",
      ExecReload: "/bin/kill -HUP $MAINPID",
      User: "pkb-hub",
      ExecStart:
        "/usr/bin/node /opt/pkb-hub/current/dist/src/cli/main.js run --config /etc/pkb-hub/config.yaml",
    });
  });

  it("DeviceAllow names device classes only (a directory such as /dev/serial is silently ignored by systemd)", () => {
    const allow = settings(readFileSync(UNIT, "utf8")).filter((s) => s.key === "DeviceAllow");
    expect(allow.map((s) => s.value)).toEqual(["char-ttyUSB rw", "char-ttyACM rw"]);
  });

  it("every relaxation of the sandbox is commented as one", () => {
    const text = readFileSync(UNIT, "utf8");
    const lines = text.split("\n");
    const relaxing = settings(text).filter(
      (s) =>
        (s.key === "AmbientCapabilities" && s.value !== "") ||
        (s.key === "CapabilityBoundingSet" && s.value !== "") ||
        (s.key === "RestrictAddressFamilies" && s.value.includes("AF_BLUETOOTH")) ||
        (s.key === "MemoryDenyWriteExecute" && s.value === "no") ||
        s.key === "IPAddressAllow" ||
        s.key === "DevicePolicy",
    );
    expect(relaxing.length).toBeGreaterThanOrEqual(6);
    for (const s of relaxing) {
      // The comment block just above the setting (or the line after, for a one-line note).
      let i = s.line - 1;
      const block: string[] = [];
      while (i >= 0 && /^(#|[A-Za-z]+=)/.test(lines[i] ?? "")) block.unshift(lines[i--] ?? "");
      block.push(lines[s.line + 1] ?? "");
      expect(block.join("\n"), `${s.key}=${s.value}`).toMatch(/[Rr]elaxation/);
    }
  });

  it("udev rules give every serial driver's USB ids a stable /dev/pkb-hub/<driver>-… name", () => {
    const rules = readFileSync(join(SYSTEMD, "99-pkb-hub.rules"), "utf8");
    const serial = DRIVERS.filter((d) => d.matcher.transport === "serial");
    expect(serial.length).toBeGreaterThan(0);
    for (const d of serial) {
      if (d.matcher.transport !== "serial") continue;
      for (const u of d.matcher.usb) {
        const ids = `ATTRS{idVendor}=="${u.vendorId}"${u.productId ? `, ATTRS{idProduct}=="${u.productId}"` : ""}`;
        expect(rules).toContain(`SUBSYSTEMS=="usb", ${ids}, ENV{PKB_HUB_DRIVER}="${d.id}"`);
      }
    }
    expect(rules).toContain('SYMLINK+="pkb-hub/$env{PKB_HUB_DRIVER}-$env{ID_SERIAL_SHORT}"');
  });
});
