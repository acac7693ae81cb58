import { describe, expect, it } from "vitest";
import { decodeHex, only, refusal } from "./helpers.js";

// Heart Rate Measurement 0x2A37: flags u8 | heart rate u8 or u16 | [energy expended u16 kJ]
// | [RR intervals u16 1/1024 s, one or more, to the end of the frame].
// Flags: bit0 value format (0 uint8, 1 uint16), bits 1-2 sensor contact status (0, 1 not supported,
// 2 supported but no contact, 3 contact detected), bit3 energy expended, bit4 RR intervals.
const hr = (hex: string) => decodeHex("ble-heart-rate", hex, "2a37");

describe("heart rate measurement, field by field", () => {
  it("uint8 value, no optional field", () => {
    // flags 00 | 0x48 = 72
    expect(only(hr("00 | 48"))).toEqual({
      kind: "heart-rate",
      values: { "heart-rate": 72 },
      units: { "heart-rate": "/min" },
      flags: [],
      time: undefined,
      seq: undefined,
      userSlot: undefined,
      meta: {},
    });
  });

  it("uint16 value (bit0), little-endian", () => {
    // flags 01 | 0x012C = 300: the high byte counts
    expect(only(hr("01 | 2c01")).values).toEqual({ "heart-rate": 300 });
    expect(only(hr("01 | 4800")).values).toEqual({ "heart-rate": 72 });
  });

  it.each([
    ["0 (not supported)", "00", 1],
    ["1 (not supported)", "02", 1],
    ["2 (supported, no contact): no reading", "04", 0],
    ["3 (contact detected)", "06", 1],
  ])("sensor contact status %s", (_name, flags, readings) => {
    expect(hr(`${flags} | 48`)).toHaveLength(readings);
  });

  it("energy expended (bit3) is read and not a reading", () => {
    // flags 08 | 72 | energy 0x0010 = 16 kJ
    expect(only(hr("08 | 48 | 1000"))).toMatchObject({ values: { "heart-rate": 72 }, meta: {} });
  });

  it("RR intervals (bit4): counted, one or more", () => {
    // flags 10 | 72 | RR 0x0400 = 1024/1024 s
    expect(only(hr("10 | 48 | 0004")).meta).toEqual({ rrIntervals: 1 });
    expect(only(hr("10 | 48 | 0004 | 0003 | 0005")).meta).toEqual({ rrIntervals: 3 });
  });

  it("every optional field: uint16, contact detected, energy, two RR intervals", () => {
    // flags 1F | 72 | 16 kJ | RR 1024, 1024
    expect(only(hr("1f | 4800 | 1000 | 0004 | 0004"))).toMatchObject({
      values: { "heart-rate": 72 },
      meta: { rrIntervals: 2 },
    });
  });

  it("RR intervals announced but none follow is FRAME_SHORT", () => {
    expect(refusal(() => hr("10 | 48"))).toBe("FRAME_SHORT");
    expect(() => hr("10 | 48")).toThrow("heart rate measurement: RR intervals announced, none follow");
    expect(refusal(() => hr("18 | 48 | 1000"))).toBe("FRAME_SHORT");
  });

  it("an odd byte after the RR intervals is FRAME_MALFORMED", () => {
    expect(refusal(() => hr("10 | 48 | 00"))).toBe("FRAME_MALFORMED");
    expect(() => hr("10 | 48 | 00")).toThrow("heart rate measurement: odd byte after the RR intervals");
    expect(refusal(() => hr("10 | 48 | 0004 | 00"))).toBe("FRAME_MALFORMED");
  });

  it.each([
    ["uint16 value cut", "01 | 48"],
    ["energy announced, missing", "08 | 48"],
    ["energy announced, 1 byte", "08 | 48 | 10"],
    ["empty frame", ""],
    ["flags only", "00"],
  ])("an announced field missing is FRAME_SHORT: %s", (_name, hex) => {
    expect(refusal(() => hr(hex))).toBe("FRAME_SHORT");
  });

  it("a broken frame is refused even when the sensor has no contact", () => {
    expect(refusal(() => hr("14 | 48"))).toBe("FRAME_SHORT");
  });

  it("bytes after the last announced field are FRAME_MALFORMED unless a reserved flag bit is set", () => {
    expect(refusal(() => hr("00 | 48 | 00"))).toBe("FRAME_MALFORMED");
    expect(refusal(() => hr("08 | 48 | 1000 | 00"))).toBe("FRAME_MALFORMED");
    // flags 20 (bit 5, reserved) | 72 | a field this version does not know
    expect(only(hr("20 | 48 | 00")).values).toEqual({ "heart-rate": 72 });
  });
});
