import { describe, expect, it } from "vitest";
import { decodeBatteryLevel } from "../../drivers/battery.js";

const hex = (h: string) => Uint8Array.from(Buffer.from(h.replace(/\s/g, ""), "hex"));

describe("Battery Level (0x2A19)", () => {
  it("decodes the uint8 percent, 0 to 100", () => {
    expect(decodeBatteryLevel(hex("00"))).toBe(0);
    expect(decodeBatteryLevel(hex("4b"))).toBe(75);
    expect(decodeBatteryLevel(hex("64"))).toBe(100);
  });

  it("refuses an empty value, more than one byte, and a level above 100 %", () => {
    expect(() => decodeBatteryLevel(hex(""))).toThrow(expect.objectContaining({ code: "FRAME_SHORT" }));
    expect(() => decodeBatteryLevel(hex("4b 00"))).toThrow(
      expect.objectContaining({ code: "FRAME_MALFORMED" }),
    );
    expect(() => decodeBatteryLevel(hex("65"))).toThrow(expect.objectContaining({ code: "FRAME_MALFORMED" }));
    expect(() => decodeBatteryLevel(hex("ff"))).toThrow(expect.objectContaining({ code: "FRAME_MALFORMED" }));
  });
});
