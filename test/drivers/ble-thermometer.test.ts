import { describe, expect, it } from "vitest";
import { decodeHex, only, refusal } from "./helpers.js";

// Temperature Measurement 0x2A1C: flags u8 | temperature FLOAT | [time stamp 7 B] | [type u8].
// Flags: bit0 units (0 Celsius, 1 Fahrenheit), bit1 time stamp, bit2 temperature type.
const temp = (hex: string) => decodeHex("ble-thermometer", hex, "2a1c");
// FLOAT 0xFF000174: exponent -1, mantissa 372 → 37.2
const T372 = "74 01 00 ff";

describe("temperature measurement, field by field", () => {
  it("Celsius, no optional field", () => {
    expect(only(temp(`00 | ${T372}`))).toEqual({
      kind: "temperature",
      values: { "body-temperature": 37.2 },
      units: { "body-temperature": "Cel" },
      flags: [],
      time: undefined,
      seq: undefined,
      userSlot: undefined,
      meta: {},
    });
  });

  it("Fahrenheit (bit0): 98.6 stays in °F for the core to convert", () => {
    // FLOAT 0xFF0003DA: mantissa 986, exponent -1
    const d = only(temp("01 | da 03 00 ff"));
    expect(d.values).toEqual({ "body-temperature": 98.6 });
    expect(d.units).toEqual({ "body-temperature": "[degF]" });
  });

  it("time stamp (bit1)", () => {
    expect(only(temp(`02 | ${T372} | ea07 0b 18 07 05 09`)).time).toBe("2026-11-24T07:05:09");
  });

  it.each([
    [1, "armpit"],
    [2, "body"],
    [3, "ear"],
    [4, "finger"],
    [5, "gastro-intestinal-tract"],
    [6, "mouth"],
    [7, "rectum"],
    [8, "toe"],
    [9, "tympanum"],
    [0, "type-0"],
    [10, "type-10"],
  ])("temperature type (bit2) %i is %s", (type, site) => {
    const byte = type.toString(16).padStart(2, "0");
    expect(only(temp(`04 | ${T372} | ${byte}`)).meta).toEqual({ site });
  });

  it("every optional field at once", () => {
    const d = only(temp(`07 | da0300ff | ea070b18070509 | 06`));
    expect(d.values).toEqual({ "body-temperature": 98.6 });
    expect(d.time).toBe("2026-11-24T07:05:09");
    expect(d.meta).toEqual({ site: "mouth" });
  });

  it.each([
    ["NaN 0x007FFFFF", "ff ff 7f 00"],
    ["NRes 0x00800000", "00 00 80 00"],
    ["+INF 0x007FFFFE", "fe ff 7f 00"],
    ["-INF 0x00800002", "02 00 80 00"],
    ["reserved 0x00800001", "01 00 80 00"],
  ])("a special FLOAT (%s) is no reading", (_name, float) => {
    expect(temp(`00 | ${float}`)).toEqual([]);
  });

  it.each([
    ["FLOAT cut", "00 | 7401"],
    ["time announced, missing", `02 | ${T372}`],
    ["type announced, missing", `04 | ${T372}`],
    ["time and type announced, type missing", `06 | ${T372} | ea070b18070509`],
  ])("an announced field missing is FRAME_SHORT: %s", (_name, hex) => {
    expect(refusal(() => temp(hex))).toBe("FRAME_SHORT");
  });

  it("bytes after the last announced field are FRAME_MALFORMED unless a reserved flag bit is set", () => {
    expect(refusal(() => temp(`00 | ${T372} | 06`))).toBe("FRAME_MALFORMED");
    expect(refusal(() => temp(`04 | ${T372} | 06 | 00`))).toBe("FRAME_MALFORMED");
    // flags 08 (bit 3, reserved) | 37.2 | a field this version does not know
    expect(only(temp(`08 | ${T372} | 00`)).values).toEqual({ "body-temperature": 37.2 });
  });
});
