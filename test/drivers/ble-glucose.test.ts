import { describe, expect, it } from "vitest";
import { glucoseSequence } from "../../drivers/ble-glucose/index.js";
import { hexBytes } from "../../drivers/fixtures.js";
import { decodeHex, only, refusal } from "./helpers.js";

// Glucose Measurement 0x2A18: flags u8 | sequence u16 | base time 7 B | [time offset s16 minutes]
// | [concentration SFLOAT + type (low nibble) / sample location (high nibble) u8] | [sensor status u16].
// Flags: bit0 time offset, bit1 concentration + type/location, bit2 units (0 kg/L, 1 mol/L),
// bit3 sensor status annunciation, bit4 context information follows.
const glucose = (hex: string) => decodeHex("ble-glucose", hex, "2a18");
// Base time used below: 2026-11-24 07:00:00 = ea07 0b 18 07 00 00.
const BASE = "ea07 0b 18 07 00 00";
// 0.00095 kg/L: SFLOAT 0xB05F, exponent 0xB = -5, mantissa 0x05F = 95 → 95 mg/dL.
const KGL_95 = "5f b0";

describe("glucose measurement, field by field", () => {
  it("kg/L with a time offset: every field of the record", () => {
    // flags 03 = offset + concentration (kg/L) | seq 5 | base | +30 min | 95 mg/dL | 0x11 capillary whole blood, finger
    expect(only(glucose(`03 | 0500 | ${BASE} | 1e00 | ${KGL_95} | 11`))).toEqual({
      kind: "glucose",
      values: { glucose: 95 },
      units: { glucose: "mg/dL" },
      flags: [],
      time: "2026-11-24T07:30:00",
      seq: 5,
      userSlot: undefined,
      meta: { sampleType: "capillary-whole-blood", sampleLocation: "finger" },
    });
  });

  it("mol/L (bit2): 0.0055 mol/L is 5.5 mmol/L", () => {
    // flags 06 | seq 6 | base | SFLOAT 0xC037: exponent -4, mantissa 55 | 0x12 capillary plasma, finger
    const d = only(glucose(`06 | 0600 | ${BASE} | 37c0 | 12`));
    expect(d.values).toEqual({ glucose: 5.5 });
    expect(d.units).toEqual({ glucose: "mmol/L" });
    expect(d.time).toBe("2026-11-24T07:00:00");
    // as sent: 0.0055 mol/L
    expect(glucose(`06 | 0600 | ${BASE} | 37c0 | 12`)[0]?.sent.values).toEqual([
      { id: "glucose", unit: "mol/L", value: 0.0055 },
    ]);
  });

  it("the sequence number is little-endian, also above 255", () => {
    // seq 0x0102 = 258
    expect(only(glucose(`02 | 0201 | ${BASE} | ${KGL_95} | 11`)).seq).toBe(258);
    expect(glucoseSequence(hexBytes(`02 0201 ${BASE} ${KGL_95} 11`))).toBe(258);
    expect(() => glucoseSequence(hexBytes("02 02"))).toThrow(
      "glucose measurement: frame is 2 bytes, needed 3 at least",
    );
  });

  it("a negative time offset goes back across midnight in the device's calendar", () => {
    // base 2026-11-24 00:10:00 | offset 0xFFE2 = -30 min → 2026-11-23 23:40
    expect(only(glucose(`03 | 0100 | ea070b18000a00 | e2ff | ${KGL_95} | 11`)).time).toBe(
      "2026-11-23T23:40:00",
    );
  });

  it("an unknown base time (year 0) gives no device time, offset or not", () => {
    expect(only(glucose(`03 | 0100 | 00000000000000 | 1e00 | ${KGL_95} | 11`)).time).toBeUndefined();
    expect(only(glucose(`02 | 0100 | 0000 0b 18 07 00 00 | ${KGL_95} | 11`)).time).toBeUndefined();
  });

  it.each([
    [1, "capillary-whole-blood"],
    [2, "capillary-plasma"],
    [3, "venous-whole-blood"],
    [4, "venous-plasma"],
    [5, "arterial-whole-blood"],
    [6, "arterial-plasma"],
    [7, "undetermined-whole-blood"],
    [8, "undetermined-plasma"],
    [9, "interstitial-fluid"],
    [0, "type-0"],
    [11, "type-11"],
  ])("sample type %i (low nibble) is %s", (type, name) => {
    const byte = (0x10 | type).toString(16).padStart(2, "0");
    expect(only(glucose(`02 | 0100 | ${BASE} | ${KGL_95} | ${byte}`)).meta.sampleType).toBe(name);
  });

  it.each([
    [1, "finger"],
    [2, "alternate-site"],
    [3, "earlobe"],
    [0, undefined],
    [15, undefined],
  ])("sample location %i (high nibble) is %s", (location, name) => {
    const byte = ((location << 4) | 1).toString(16).padStart(2, "0");
    const meta = only(glucose(`02 | 0100 | ${BASE} | ${KGL_95} | ${byte}`)).meta;
    expect(meta.sampleLocation).toBe(name);
    expect("sampleLocation" in meta).toBe(name !== undefined);
  });

  it("control solution, by type 10 or by location 4, is not a patient reading", () => {
    expect(glucose(`02 | 0700 | ${BASE} | ${KGL_95} | 1a`)).toEqual([]);
    expect(glucose(`02 | 0700 | ${BASE} | ${KGL_95} | 41`)).toEqual([]);
  });

  it.each([
    ["0x0001 bit 0", "0100", ["device-battery-low"]],
    ["0x0002 bit 1", "0200", ["sensor-malfunction"]],
    ["0x0004 bit 2", "0400", ["sample-size-insufficient"]],
    ["0x0008 bit 3", "0800", ["strip-insertion-error"]],
    ["0x0010 bit 4", "1000", ["strip-type-incorrect"]],
    ["0x0020 bit 5", "2000", ["above-measuring-range:glucose"]],
    ["0x0040 bit 6", "4000", ["below-measuring-range:glucose"]],
    ["0x0080 bit 7", "8000", ["sensor-temperature-too-high"]],
    ["0x0100 bit 8", "0001", ["sensor-temperature-too-low"]],
    ["0x0200 bit 9", "0002", ["sensor-read-interrupted"]],
    ["0x0400 bit 10", "0004", ["general-device-fault"]],
    ["0x0800 bit 11", "0008", ["device-time-fault"]],
    ["0xF000 bits 12-15 reserved", "00f0", []],
    ["0x0000", "0000", []],
  ])("sensor status annunciation %s", (_name, status, flags) => {
    // flags 0A = concentration + sensor status (kg/L) | seq 1 | base | 95 | 0x11 | status
    expect(only(glucose(`0a | 0100 | ${BASE} | ${KGL_95} | 11 | ${status}`)).flags).toEqual(flags);
  });

  it("a HI result (bit 5) keeps the meter's limit as the value and says it is not exact", () => {
    // 600 mg/dL = 0.006 kg/L: SFLOAT 0xC03C, exponent -4, mantissa 60 | status 0x0020 result too high
    const d = only(glucose(`0a | 0100 | ${BASE} | 3cc0 | 11 | 2000`));
    expect(d.values).toEqual({ glucose: 600 });
    expect(d.flags).toEqual(["above-measuring-range:glucose"]);
  });

  it("a LO result (bit 6) keeps the meter's limit as the value and says it is not exact", () => {
    // 20 mg/dL = 0.0002 kg/L: SFLOAT 0xC002, exponent -4, mantissa 2 | status 0x0040 result too low
    const d = only(glucose(`0a | 0100 | ${BASE} | 02c0 | 11 | 4000`));
    expect(d.values).toEqual({ glucose: 20 });
    expect(d.flags).toEqual(["below-measuring-range:glucose"]);
  });

  it("context information follows (bit4) is noted", () => {
    expect(only(glucose(`12 | 0100 | ${BASE} | ${KGL_95} | 11`)).meta.contextFollows).toBe(true);
  });

  it("a record without concentration (bit1 clear) is no reading", () => {
    expect(glucose(`00 | 0800 | ${BASE}`)).toEqual([]);
  });

  it("a special concentration is no reading", () => {
    // SFLOAT 0x07FF NaN, 0x0800 NRes
    expect(glucose(`02 | 0100 | ${BASE} | ff07 | 11`)).toEqual([]);
    expect(glucose(`02 | 0100 | ${BASE} | 0008 | 11`)).toEqual([]);
  });

  it.each([
    ["base time cut", `02 | 0900 | ea07`],
    ["sequence cut", `02 | 09`],
    ["offset announced, missing", `03 | 0100 | ${BASE}`],
    ["type/location missing", `02 | 0100 | ${BASE} | ${KGL_95}`],
    ["sensor status announced, 1 byte", `0a | 0100 | ${BASE} | ${KGL_95} | 11 | 20`],
  ])("an announced field missing is FRAME_SHORT: %s", (_name, hex) => {
    expect(refusal(() => glucose(hex))).toBe("FRAME_SHORT");
  });
});

describe("glucose measurement, whole frame checked", () => {
  it("bytes after the last announced field are FRAME_MALFORMED unless a reserved flag bit is set", () => {
    expect(refusal(() => glucose(`02 | 0100 | ${BASE} | ${KGL_95} | 11 | 00`))).toBe("FRAME_MALFORMED");
    expect(refusal(() => glucose(`00 | 0100 | ${BASE} | 00`))).toBe("FRAME_MALFORMED");
    // flags 22 (bit 5 reserved) | … | a field this version does not know
    expect(only(glucose(`22 | 0100 | ${BASE} | ${KGL_95} | 11 | 0000`)).values).toEqual({ glucose: 95 });
  });

  it("a control-solution record or one without concentration is still checked to its end", () => {
    expect(refusal(() => glucose(`0a | 0700 | ${BASE} | ${KGL_95} | 1a`))).toBe("FRAME_SHORT");
    expect(refusal(() => glucose(`08 | 0800 | ${BASE}`))).toBe("FRAME_SHORT");
    // no concentration, but the sensor status is there: read, then no reading
    expect(glucose(`08 | 0800 | ${BASE} | 0100`)).toEqual([]);
  });
});
