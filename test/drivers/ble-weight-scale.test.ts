import { describe, expect, it } from "vitest";
import { decodeHex, only, refusal } from "./helpers.js";

// Weight Measurement 0x2A9D: flags u8 | weight u16 (0.005 kg SI, 0.01 lb imperial; 0xFFFF unsuccessful)
// | [time stamp 7 B] | [user id u8, 0xFF unknown] | [BMI u16 × 0.1, height u16 × 0.001 m or × 0.1 in].
// Flags: bit0 units (0 SI, 1 imperial), bit1 time stamp, bit2 user id, bit3 BMI and height.
const weight = (hex: string) => decodeHex("ble-weight-scale", hex, "2a9d");

describe("weight measurement, field by field", () => {
  it("SI, no optional field: 14000 × 0.005 kg = 70 kg", () => {
    expect(only(weight("00 | b036"))).toEqual({
      kind: "weight",
      values: { "body-weight": 70 },
      units: { "body-weight": "kg" },
      flags: [],
      time: undefined,
      seq: undefined,
      userSlot: undefined,
      meta: {},
    });
  });

  it("SI resolution 0.005 kg: 14001 steps are 70.005 kg; the high byte counts", () => {
    expect(only(weight("00 | b136")).values).toEqual({ "body-weight": 70.005 });
    expect(only(weight("00 | 0100")).values).toEqual({ "body-weight": 0.005 });
    expect(only(weight("00 | feff")).values).toEqual({ "body-weight": 327.67 });
  });

  it("imperial (bit0): 15432 × 0.01 lb = 154.32 lb, kept in pounds for the core", () => {
    const d = only(weight("01 | 483c"));
    expect(d.values).toEqual({ "body-weight": 154.32 });
    expect(d.units).toEqual({ "body-weight": "[lb_av]" });
  });

  it("time stamp (bit1)", () => {
    expect(only(weight("02 | b036 | ea07 0b 18 06 30 00")).time).toBe("2026-11-24T06:48:00");
  });

  it("user id (bit2): a slot, 0xFF the unknown user", () => {
    expect(only(weight("04 | b036 | 03")).userSlot).toBe(3);
    expect(only(weight("04 | b036 | 00")).userSlot).toBe(0);
    expect(only(weight("04 | b036 | ff")).userSlot).toBeUndefined();
  });

  it("BMI and height (bit3) in SI: 24.5 and 1.75 m", () => {
    // BMI 0x00F5 = 245 × 0.1 | height 0x06D6 = 1750 × 0.001 m
    expect(only(weight("08 | b036 | f500 | d606")).meta).toEqual({ bmi: 24.5, heightM: 1.75 });
  });

  it("BMI and height in imperial: height in inches", () => {
    // BMI 245 | height 0x02BC = 700 × 0.1 in = 70 in
    expect(only(weight("09 | 483c | f500 | bc02")).meta).toEqual({ bmi: 24.5, heightIn: 70 });
  });

  it("every optional field at once", () => {
    const d = only(weight("0f | 483c | ea070b18063000 | 02 | f500 | bc02"));
    expect(d.values).toEqual({ "body-weight": 154.32 });
    expect(d.time).toBe("2026-11-24T06:48:00");
    expect(d.userSlot).toBe(2);
    expect(d.meta).toEqual({ bmi: 24.5, heightIn: 70 });
  });

  it("measurement unsuccessful (0xFFFF) is no reading, yet the frame is still checked", () => {
    expect(weight("00 | ffff")).toEqual([]);
    expect(weight("0e | ffff | ea070b18063000 | 02 | f500 | bc02")).toEqual([]);
    expect(refusal(() => weight("02 | ffff"))).toBe("FRAME_SHORT");
  });

  it.each([
    ["weight cut", "00 | b0"],
    ["time announced, missing", "02 | b036"],
    ["user announced, missing", "04 | b036"],
    ["BMI announced, height missing", "08 | b036 | f500"],
  ])("an announced field missing is FRAME_SHORT: %s", (_name, hex) => {
    expect(refusal(() => weight(hex))).toBe("FRAME_SHORT");
  });

  it("bytes after the last announced field are FRAME_MALFORMED unless a reserved flag bit is set", () => {
    expect(refusal(() => weight("00 | b036 | 00"))).toBe("FRAME_MALFORMED");
    expect(only(weight("10 | b036 | 00")).values).toEqual({ "body-weight": 70 });
  });
});
