import { describe, expect, it } from "vitest";
import { decodeHex, only, refusal, spo2Only } from "./helpers.js";

// PLX Spot-check Measurement 0x2A5E: flags u8 | SpO2 SFLOAT % | PR SFLOAT /min | [time 7 B]
// | [measurement status u16] | [device and sensor status u24] | [pulse amplitude index SFLOAT].
// Flags: bit0 time, bit1 measurement status, bit2 device and sensor status, bit3 PAI, bit4 clock not set.
const spot = (hex: string) => decodeHex("ble-pulse-oximeter", hex, "2a5e");
const continuous = (hex: string) => decodeHex("ble-pulse-oximeter", hex, "2a5f");

describe("PLX spot-check measurement, field by field", () => {
  it("no optional field: SpO2 and pulse rate only", () => {
    // flags 00 | SpO2 0x0061 = 97 | PR 0x0048 = 72
    expect(only(spot("00 | 6100 | 4800"))).toEqual(spo2Only(97, 72));
  });

  it("SFLOAT with a negative exponent: 97.5 % and 72.4 /min", () => {
    // SpO2 0xF3CF: exponent -1, mantissa 975 | PR 0xF2D4: exponent -1, mantissa 724
    expect(only(spot("00 | cff3 | d4f2")).values).toEqual({
      spo2: 97.5,
      "pulse-rate": 72.4,
    });
  });

  it("time stamp present (bit0)", () => {
    // flags 01 | 96 | 75 | 2026-11-24 10:00:05
    expect(only(spot("01 | 6000 | 4b00 | ea07 0b 18 0a 00 05")).time).toBe("2026-11-24T10:00:05");
  });

  it("device clock not set (bit4): the time stamp is ignored and the reading says so", () => {
    // flags 11 = time + clock not set | 96 | 75 | 2000-01-01 00:00:00 (junk)
    const d = only(spot("11 | 6000 | 4b00 | d007 01 01 00 00 00"));
    expect(d.time).toBeUndefined();
    expect(d.flags).toEqual(["device-clock-not-set"]);
  });

  it("device clock not set without a time stamp changes nothing", () => {
    // flags 10: bit4 alone (no time stamp follows)
    expect(only(spot("10 | 6000 | 4b00")).flags).toEqual([]);
  });

  it("reads measurement status from the specification's bits: fully qualified (bit 8) is not questionable", () => {
    // flags 02 | 97 | 72 | status 0x0100 = bit 8 "fully qualified data": good news, no flag
    expect(only(spot("02 | 6100 | 4800 | 0001")).flags).toEqual([]);
    // status 0x4000 = bit 14 "questionable measurement detected"
    expect(only(spot("02 | 6100 | 4800 | 0040")).flags).toEqual(["questionable-measurement"]);
  });

  it.each([
    ["0x0020 bit 5 measurement ongoing", "2000", ["measurement-ongoing"]],
    ["0x0040 bit 6 early estimated data", "4000", ["early-estimate"]],
    ["0x0080 bit 7 validated data", "8000", []],
    ["0x0200 bit 9 data from measurement storage", "0002", []],
    ["0x1000 bit 12 calibration ongoing", "0010", ["calibration-ongoing"]],
    ["0x001F bits 0-4 reserved", "1f00", []],
    [
      "0x5060 bits 5, 6, 12 and 14 together",
      "6050",
      ["measurement-ongoing", "early-estimate", "calibration-ongoing", "questionable-measurement"],
    ],
  ])("measurement status %s", (_name, status, flags) => {
    expect(only(spot(`02 | 6100 | 4800 | ${status}`)).flags).toEqual(flags);
  });

  it.each([
    ["0x0400 bit 10 data for demonstration", "0004"],
    ["0x0800 bit 11 data for testing", "0008"],
    ["0x2000 bit 13 measurement unavailable", "0020"],
    ["0x8000 bit 15 invalid measurement detected", "0080"],
  ])("measurement status %s: not a patient reading", (_name, status) => {
    expect(spot(`02 | 6100 | 4800 | ${status}`)).toEqual([]);
  });

  it.each([
    ["bit 0 extended display update ongoing", "010000", []],
    ["bit 1 equipment malfunction", "020000", ["equipment-malfunction"]],
    ["bit 2 signal processing irregularity", "040000", ["signal-processing-irregularity"]],
    ["bit 3 inadequate signal", "080000", ["inadequate-signal"]],
    ["bit 4 poor signal", "100000", ["poor-signal"]],
    ["bit 5 low perfusion", "200000", ["low-perfusion"]],
    ["bit 6 erratic signal", "400000", ["erratic-signal"]],
    ["bit 7 nonpulsatile signal", "800000", ["nonpulsatile-signal"]],
    ["bit 8 questionable pulse", "000100", ["questionable-pulse"]],
    ["bit 9 signal analysis ongoing", "000200", []],
    ["bit 10 sensor interference", "000400", ["sensor-interference"]],
    ["bit 12 unknown sensor connected", "001000", ["unknown-sensor"]],
    ["bit 13 sensor displaced", "002000", ["sensor-displaced"]],
    ["bit 14 sensor malfunctioning", "004000", ["sensor-malfunction"]],
    ["bits 16-23 reserved", "0000ff", []],
  ])("device and sensor status %s", (_name, status, flags) => {
    // flags 04 | 97 | 72 | device and sensor status u24 little-endian
    expect(only(spot(`04 | 6100 | 4800 | ${status}`)).flags).toEqual(flags);
  });

  it.each([
    ["bit 11 sensor unconnected to user", "000800"],
    ["bit 15 sensor disconnected", "008000"],
  ])("device and sensor status %s: not a patient reading", (_name, status) => {
    expect(spot(`04 | 6100 | 4800 | ${status}`)).toEqual([]);
  });

  it("demonstration, test, unavailable or invalid data, or a sensor off the patient, is never a reading", () => {
    // measurement status bits 10, 11, 13, 15 each alone, with the good bits 7 and 8 also set
    for (const status of [0x0580, 0x0980, 0x2180, 0x8180]) {
      const le = `${(status & 0xff).toString(16).padStart(2, "0")}${(status >> 8).toString(16).padStart(2, "0")}`;
      expect(spot(`02 | 6100 | 4800 | ${le}`), le).toEqual([]);
    }
    // device and sensor status bit 11 (unconnected) and bit 15 (disconnected), with poor signal bit 4
    expect(spot("04 | 6100 | 4800 | 100800")).toEqual([]);
    expect(spot("04 | 6100 | 4800 | 108000")).toEqual([]);
    // both status words present: either one refusing is enough
    expect(spot("06 | 6100 | 4800 | 0001 | 008000")).toEqual([]);
    expect(spot("06 | 6100 | 4800 | 0080 | 000000")).toEqual([]);
  });

  it("pulse amplitude index (bit3) is read and not a reading", () => {
    // flags 08 | 97 | 72 | PAI 0xF02A = 4.2 %
    expect(only(spot("08 | 6100 | 4800 | 2af0")).values).toEqual({ spo2: 97, "pulse-rate": 72 });
  });

  it("every optional field at once, in the specification's order", () => {
    // flags 0F | 97 | 72 | 2026-11-24 10:00:00 | status 0x4000 | device status 0x000020 | PAI 4.2
    const d = only(spot("0f | 6100 | 4800 | ea070b180a0000 | 0040 | 200000 | 2af0"));
    expect(d.values).toEqual({ spo2: 97, "pulse-rate": 72 });
    expect(d.time).toBe("2026-11-24T10:00:00");
    expect(d.flags).toEqual(["questionable-measurement", "low-perfusion"]);
  });

  it.each([
    ["time stamp announced, 6 of 7 bytes", "01 | 6100 | 4800 | ea070b180a00"],
    ["measurement status announced, 1 of 2 bytes", "02 | 6100 | 4800 | 00"],
    ["device status announced, 2 of 3 bytes", "04 | 6100 | 4800 | 0000"],
    ["PAI announced, missing", "08 | 6100 | 4800"],
    ["pulse rate cut", "00 | 6100 | 48"],
  ])("an announced field missing is FRAME_SHORT: %s", (_name, hex) => {
    expect(refusal(() => spot(hex))).toBe("FRAME_SHORT");
  });

  it("bytes after the last announced field are FRAME_MALFORMED", () => {
    expect(refusal(() => spot("00 | 6100 | 4800 | 00"))).toBe("FRAME_MALFORMED");
    expect(refusal(() => spot("02 | 6100 | 4800 | 0000 | 0000"))).toBe("FRAME_MALFORMED");
  });

  it("a reserved flag bit (5-7) announces a newer field: the known ones are read, the rest left alone", () => {
    // flags 20 (bit 5, reserved) | 97 | 72 | two bytes of a field this version does not know
    expect(only(spot("20 | 6100 | 4800 | abcd")).values).toEqual({ spo2: 97, "pulse-rate": 72 });
    expect(only(spot("80 | 6100 | 4800")).values).toEqual({ spo2: 97, "pulse-rate": 72 });
  });
});

// PLX Continuous Measurement 0x2A5F: flags u8 | SpO2PR-Normal (2 × SFLOAT) | [SpO2PR-Fast] |
// [SpO2PR-Slow] | [measurement status u16] | [device and sensor status u24] | [PAI SFLOAT].
// Flags: bit0 Fast, bit1 Slow, bit2 measurement status, bit3 device status, bit4 PAI.
describe("PLX continuous measurement, field by field", () => {
  it("SpO2PR-Normal only", () => {
    expect(only(continuous("00 | 6200 | 4600"))).toEqual(spo2Only(98, 70));
  });

  it("SpO2PR-Fast and -Slow are skipped: only the Normal pair is the reading", () => {
    // flags 03 | Normal 98/70 | Fast 90/100 | Slow 91/101
    const d = only(continuous("03 | 6200 4600 | 5a00 6400 | 5b00 6500"));
    expect(d.values).toEqual({ spo2: 98, "pulse-rate": 70 });
    // flags 01 | Normal | Fast only
    expect(only(continuous("01 | 6200 4600 | 5a00 6400")).values).toEqual({ spo2: 98, "pulse-rate": 70 });
    // flags 02 | Normal | Slow only
    expect(only(continuous("02 | 6200 4600 | 5b00 6500")).values).toEqual({ spo2: 98, "pulse-rate": 70 });
  });

  it("measurement status (bit2) and device status (bit3) as in the spot-check", () => {
    expect(only(continuous("04 | 6200 4600 | 0040")).flags).toEqual(["questionable-measurement"]);
    expect(only(continuous("04 | 6200 4600 | 0001")).flags).toEqual([]);
    expect(continuous("04 | 6200 4600 | 0080")).toEqual([]);
    expect(only(continuous("08 | 6200 4600 | 200000")).flags).toEqual(["low-perfusion"]);
    expect(continuous("08 | 6200 4600 | 008000")).toEqual([]);
  });

  it("pulse amplitude index (bit4) and every field at once", () => {
    expect(only(continuous("10 | 6200 4600 | 2af0")).values).toEqual({ spo2: 98, "pulse-rate": 70 });
    const d = only(continuous("1f | 6200 4600 | 5a00 6400 | 5b00 6500 | 2000 | 100000 | 2af0"));
    expect(d.values).toEqual({ spo2: 98, "pulse-rate": 70 });
    expect(d.flags).toEqual(["measurement-ongoing", "poor-signal"]);
  });

  it.each([
    ["Fast announced, missing", "01 | 6200 4600"],
    ["Slow announced, half there", "02 | 6200 4600 | 5b00"],
    ["status announced, missing", "04 | 6200 4600"],
    ["device status announced, 1 byte", "08 | 6200 4600 | 20"],
    ["PAI announced, missing", "10 | 6200 4600"],
  ])("an announced field missing is FRAME_SHORT: %s", (_name, hex) => {
    expect(refusal(() => continuous(hex))).toBe("FRAME_SHORT");
  });

  it("trailing bytes are FRAME_MALFORMED unless a reserved flag bit is set", () => {
    expect(refusal(() => continuous("00 | 6200 4600 | 5a00 6400"))).toBe("FRAME_MALFORMED");
    expect(only(continuous("40 | 6200 4600 | 5a00")).values).toEqual({ spo2: 98, "pulse-rate": 70 });
  });
});

describe("PLX characteristics", () => {
  it("refuses a characteristic it does not decode, or none", () => {
    expect(refusal(() => decodeHex("ble-pulse-oximeter", "00 6100 4800", "2a60"))).toBe("FRAME_UNSUPPORTED");
    expect(refusal(() => decodeHex("ble-pulse-oximeter", "00 6100 4800"))).toBe("FRAME_UNSUPPORTED");
  });
});
