import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isHubError } from "../src/core/errors.js";
import { localToString } from "../src/core/time.js";
import { FIXTURES, hexBytes } from "./fixtures.js";
import { DRIVER_IDS, DRIVERS, driverById, soleCharacteristic } from "./index.js";

describe("driver registry", () => {
  it("has the fixed ids, each once, with unique matchers and fixtures", () => {
    expect([...DRIVER_IDS].sort()).toEqual(
      [
        "ble-blood-pressure",
        "ble-glucose",
        "ble-heart-rate",
        "ble-pulse-oximeter",
        "ble-thermometer",
        "ble-weight-scale",
        "contour-serial",
        "nonin-serial",
      ].sort(),
    );
    const matchers = DRIVERS.map((d) =>
      d.matcher.transport === "ble"
        ? `ble:${d.matcher.services.join(",")}`
        : `usb:${JSON.stringify(d.matcher.usb)}`,
    );
    expect(new Set(matchers).size).toBe(DRIVERS.length);
    for (const d of DRIVERS) {
      expect(FIXTURES[d.id]?.length ?? 0, d.id).toBeGreaterThanOrEqual(3);
      if (d.matcher.transport === "serial") expect(d.createSession, d.id).toBeDefined();
    }
    expect(() => driverById("nope")).toThrow(expect.objectContaining({ code: "DRIVER_UNKNOWN" }));
    expect(() => driverById("nope")).toThrow(
      "unknown driver 'nope'; known: ble-blood-pressure, ble-thermometer, ble-glucose, ble-weight-scale, ble-pulse-oximeter, ble-heart-rate, nonin-serial, contour-serial",
    );
  });
});

describe("what each driver is", () => {
  it("matches the specification's services and characteristics, and names its streams", () => {
    expect(Object.fromEntries(DRIVERS.map((d) => [d.id, d.matcher]))).toEqual({
      "ble-blood-pressure": { transport: "ble", services: ["1810"], characteristics: ["2a35"] },
      "ble-thermometer": { transport: "ble", services: ["1809"], characteristics: ["2a1c"] },
      "ble-glucose": { transport: "ble", services: ["1808"], characteristics: ["2a18"], racp: "2a52" },
      "ble-weight-scale": { transport: "ble", services: ["181d"], characteristics: ["2a9d"] },
      "ble-pulse-oximeter": {
        transport: "ble",
        services: ["1822"],
        characteristics: ["2a5e", "2a5f"],
        streams: ["2a5f"],
      },
      "ble-heart-rate": {
        transport: "ble",
        services: ["180d"],
        characteristics: ["2a37"],
        streams: ["2a37"],
      },
      "nonin-serial": { transport: "serial", usb: [{ vendorId: "0403", productId: "6001" }] },
      "contour-serial": { transport: "serial", usb: [{ vendorId: "1a79" }] },
    });
  });

  it("serial drivers: line settings, sessions, and which are streams", () => {
    const serial = DRIVERS.filter((d) => d.matcher.transport === "serial");
    expect(Object.fromEntries(serial.map((d) => [d.id, [d.serial, d.continuous ?? false]]))).toEqual({
      "nonin-serial": [{ baudRate: 9600, dataBits: 8, parity: "none", stopBits: 1 }, true],
      "contour-serial": [{ baudRate: 9600, dataBits: 8, parity: "none", stopBits: 1 }, false],
    });
    for (const d of DRIVERS) expect(d.continuous ?? false, d.id).toBe(d.id === "nonin-serial");
  });

  it("describes itself for technicians (devices list)", () => {
    expect(Object.fromEntries(DRIVERS.map((d) => [d.id, d.description]))).toEqual({
      "ble-blood-pressure": "Bluetooth Blood Pressure profile (service 0x1810)",
      "ble-thermometer": "Bluetooth Health Thermometer profile (service 0x1809)",
      "ble-glucose": "Bluetooth Glucose profile (service 0x1808) with Record Access Control Point download",
      "ble-weight-scale": "Bluetooth Weight Scale profile (service 0x181D)",
      "ble-pulse-oximeter": "Bluetooth Pulse Oximeter profile (service 0x1822), spot-check and continuous",
      "ble-heart-rate": "Bluetooth Heart Rate profile (service 0x180D)",
      "nonin-serial":
        "Nonin pulse oximeters, serial data format #2 (continuous, condensed before forwarding)",
      "contour-serial": "Contour-family glucose meters over USB-serial: ASTM E1381/E1394 record download",
    });
  });

  it("names the characteristic in every frame error, for the log", () => {
    const named: Array<[string, string, string]> = [
      ["ble-blood-pressure", "2a35", "blood pressure measurement"],
      ["ble-thermometer", "2a1c", "temperature measurement"],
      ["ble-glucose", "2a18", "glucose measurement"],
      ["ble-weight-scale", "2a9d", "weight measurement"],
      ["ble-pulse-oximeter", "2a5e", "PLX spot-check measurement"],
      ["ble-pulse-oximeter", "2a5f", "PLX continuous measurement"],
      ["ble-heart-rate", "2a37", "heart rate measurement"],
    ];
    for (const [id, ch, what] of named) {
      expect(() => driverById(id).decode(new Uint8Array(0), ch)).toThrow(
        `${what}: frame is 0 bytes, needed 1 at least`,
      );
    }
    const unsupported: Array<[string, string]> = [
      ["ble-blood-pressure", "blood pressure: characteristic 2a36 is not one this driver decodes (2a35)"],
      ["ble-thermometer", "thermometer: characteristic 2a36 is not one this driver decodes (2a1c)"],
      ["ble-glucose", "glucose: characteristic 2a36 is not one this driver decodes (2a18)"],
      ["ble-weight-scale", "weight scale: characteristic 2a36 is not one this driver decodes (2a9d)"],
      [
        "ble-pulse-oximeter",
        "pulse oximeter: characteristic 2a36 is not one this driver decodes (2a5e, 2a5f)",
      ],
      ["ble-heart-rate", "heart rate: characteristic 2a36 is not one this driver decodes (2a37)"],
    ];
    for (const [id, message] of unsupported)
      expect(() => driverById(id).decode(new Uint8Array(0), "2a36")).toThrow(message);
    expect(() => driverById("ble-glucose").decode(new Uint8Array(0))).toThrow(
      "glucose: characteristic (none) is not one this driver decodes (2a18)",
    );
  });
});

describe("characteristics a BLE driver decodes", () => {
  // Neighbours in the same services that are not measurements (or have another layout), and names
  // that would find something on a plain object.
  const others = ["2a36", "2a34", "2a52", "2a1e", "2a2b", "2a49", "constructor", "__proto__", "", undefined];

  it("refuses every characteristic but its own with FRAME_UNSUPPORTED", () => {
    for (const d of DRIVERS) {
      if (d.matcher.transport !== "ble") continue;
      for (const ch of others) {
        expect(() => d.decode(Uint8Array.of(0, 0x78, 0, 0x50, 0, 0x5d, 0), ch), `${d.id} ${ch}`).toThrow(
          expect.objectContaining({ code: "FRAME_UNSUPPORTED" }),
        );
      }
    }
  });

  it("decodes each characteristic it subscribes to (no FRAME_UNSUPPORTED for its own)", () => {
    for (const d of DRIVERS) {
      if (d.matcher.transport !== "ble") continue;
      for (const ch of d.matcher.characteristics) {
        try {
          d.decode(new Uint8Array(0), ch);
        } catch (err) {
          expect((err as { code?: string }).code, `${d.id} ${ch}`).toBe("FRAME_SHORT");
        }
      }
    }
  });

  it("names the sole characteristic of a single-characteristic driver, none for several or serial", () => {
    expect(soleCharacteristic(driverById("ble-blood-pressure"))).toBe("2a35");
    expect(soleCharacteristic(driverById("ble-glucose"))).toBe("2a18");
    expect(soleCharacteristic(driverById("ble-pulse-oximeter"))).toBeUndefined();
    expect(soleCharacteristic(driverById("contour-serial"))).toBeUndefined();
  });
});

for (const driver of DRIVERS) {
  describe(`${driver.id} byte vectors`, () => {
    for (const fx of FIXTURES[driver.id] ?? []) {
      it(fx.name, () => {
        const run = () => driver.decode(hexBytes(fx.hex), fx.characteristic ?? soleCharacteristic(driver));
        if ("error" in fx.expect) {
          expect(run).toThrow(expect.objectContaining({ code: fx.expect.error }));
          return;
        }
        const drafts = run();
        if ("none" in fx.expect) {
          expect(drafts).toEqual([]);
          return;
        }
        expect(drafts).toHaveLength(1);
        const d = drafts[0];
        if (!d) return;
        const values = Object.fromEntries(d.components.map((c) => [c.id, c.value]));
        expect(values).toEqual(fx.expect.values);
        for (const v of d.components.map((c) => c.value)) expect(Number.isFinite(v)).toBe(true);
        if (fx.expect.flags) expect(d.flags ?? []).toEqual(expect.arrayContaining(fx.expect.flags));
        if (fx.expect.deviceTime)
          expect(d.deviceTime && localToString(d.deviceTime)).toBe(fx.expect.deviceTime);
        else expect(d.deviceTime).toBeUndefined();
        if (fx.expect.seq !== undefined) expect(d.seq).toBe(fx.expect.seq);
        if (fx.expect.userSlot !== undefined) expect(d.userSlot).toBe(fx.expect.userSlot);
        if (fx.expect.meta) expect(d.meta).toMatchObject(fx.expect.meta);
      });
    }

    it("never throws anything but a coded error, never yields a non-finite value (fuzz)", () => {
      const characteristic =
        driver.matcher.transport === "ble"
          ? fc.constantFrom(...driver.matcher.characteristics)
          : fc.constant(undefined);
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 140 }), characteristic, (bytes, ch) => {
          try {
            for (const d of driver.decode(bytes, ch)) {
              for (const c of d.components) expect(Number.isFinite(c.value)).toBe(true);
            }
          } catch (err) {
            expect(isHubError(err)).toBe(true);
          }
        }),
        { numRuns: 500 },
      );
    });
  });
}
