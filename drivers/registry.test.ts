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
