import { describe, expect, it } from "vitest";
import { decodeHex, only, refusal } from "./helpers.js";

// Blood Pressure Measurement 0x2A35: flags u8 | systolic, diastolic, mean arterial pressure (SFLOAT)
// | [time stamp 7 B] | [pulse rate SFLOAT] | [user id u8, 0xFF unknown] | [measurement status u16].
// Flags: bit0 units (0 mmHg, 1 kPa), bit1 time stamp, bit2 pulse rate, bit3 user id, bit4 status.
const bp = (hex: string) => decodeHex("ble-blood-pressure", hex, "2a35");
// 120 / 80 / 93 mmHg: SFLOAT 0x0078, 0x0050, 0x005D
const SDM = "7800 | 5000 | 5d00";

describe("blood pressure measurement, field by field", () => {
  it("mmHg, no optional field", () => {
    expect(only(bp(`00 | ${SDM}`))).toEqual({
      kind: "blood-pressure",
      values: { "bp-systolic": 120, "bp-diastolic": 80, "bp-mean": 93 },
      units: { "bp-systolic": "mm[Hg]", "bp-diastolic": "mm[Hg]", "bp-mean": "mm[Hg]" },
      flags: [],
      time: undefined,
      seq: undefined,
      userSlot: undefined,
      meta: {},
    });
  });

  it("kPa (bit0): the values stay in kPa for the core to convert", () => {
    // 16.0 (0xF0A0: exponent -1, mantissa 160) / 10.7 (0xF06B) / 12.4 (0xF07C)
    const d = only(bp("01 | a0f0 | 6bf0 | 7cf0"));
    expect(d.values).toEqual({ "bp-systolic": 16, "bp-diastolic": 10.7, "bp-mean": 12.4 });
    expect(d.units).toEqual({ "bp-systolic": "kPa", "bp-diastolic": "kPa", "bp-mean": "kPa" });
  });

  it("the pulse rate is per minute whatever the pressure unit", () => {
    // flags 05 = kPa + pulse | … | pulse 72
    expect(only(bp("05 | a0f0 | 6bf0 | 7cf0 | 4800")).units["pulse-rate"]).toBe("/min");
  });

  it("time stamp (bit1)", () => {
    // 2026-11-24 08:30:15
    expect(only(bp(`02 | ${SDM} | ea07 0b 18 08 1e 0f`)).time).toBe("2026-11-24T08:30:15");
    // year 0: unknown time
    expect(only(bp(`02 | ${SDM} | 0000 0b 18 08 1e 0f`)).time).toBeUndefined();
  });

  it("pulse rate (bit2)", () => {
    expect(only(bp(`04 | ${SDM} | 4800`)).values["pulse-rate"]).toBe(72);
  });

  it("user id (bit3): a slot, 0 included; 0xFF is the unknown user", () => {
    expect(only(bp(`08 | ${SDM} | 01`)).userSlot).toBe(1);
    expect(only(bp(`08 | ${SDM} | 00`)).userSlot).toBe(0);
    expect(only(bp(`08 | ${SDM} | fe`)).userSlot).toBe(254);
    expect(only(bp(`08 | ${SDM} | ff`)).userSlot).toBeUndefined();
  });

  it.each([
    ["0x0001 bit 0 body movement", "0100", ["body-movement"]],
    ["0x0002 bit 1 cuff too loose", "0200", ["cuff-fit-loose"]],
    ["0x0004 bit 2 irregular pulse", "0400", ["irregular-pulse"]],
    ["0x0008 bits 3-4 = 1 pulse rate above the upper limit", "0800", ["pulse-rate-above-range"]],
    ["0x0010 bits 3-4 = 2 pulse rate below the lower limit", "1000", ["pulse-rate-below-range"]],
    ["0x0018 bits 3-4 = 3 reserved", "1800", []],
    ["0x0020 bit 5 improper measurement position", "2000", ["improper-measurement-position"]],
    ["0xFFC0 bits 6-15 reserved", "c0ff", []],
    ["0x0000", "0000", []],
    [
      "0x0027 bits 0, 1, 2, 5",
      "2700",
      ["body-movement", "cuff-fit-loose", "irregular-pulse", "improper-measurement-position"],
    ],
  ])("measurement status (bit4) %s", (_name, status, flags) => {
    expect(only(bp(`10 | ${SDM} | ${status}`)).flags).toEqual(flags);
  });

  it("every optional field at once, in the specification's order", () => {
    // flags 1F = kPa, time, pulse, user, status
    const d = only(bp("1f | a0f0 | 6bf0 | 7cf0 | ea070b18081e00 | 4800 | 02 | 0400"));
    expect(d.values).toEqual({ "bp-systolic": 16, "bp-diastolic": 10.7, "bp-mean": 12.4, "pulse-rate": 72 });
    expect(d.time).toBe("2026-11-24T08:30:00");
    expect(d.userSlot).toBe(2);
    expect(d.flags).toEqual(["irregular-pulse"]);
  });

  it("a special value drops its component and says so; all special is no reading", () => {
    // MAP 0x07FF NaN
    const d = only(bp("00 | 7800 | 5000 | ff07"));
    expect(d.values).toEqual({ "bp-systolic": 120, "bp-diastolic": 80 });
    expect(d.flags).toEqual(["special-value:bp-mean:nan"]);
    // pulse 0x0800 NRes
    expect(only(bp(`04 | ${SDM} | 0008`)).flags).toEqual(["special-value:pulse-rate:nres"]);
    expect(bp("00 | 0008 | 0008 | 0008")).toEqual([]);
  });

  it.each([
    ["diastolic cut", "00 | 7800"],
    ["mean arterial pressure cut", "00 | 7800 | 5000 | 5d"],
    ["time announced, 2 of 7 bytes", `02 | ${SDM} | ea07`],
    ["pulse announced, missing", `04 | ${SDM}`],
    ["user announced, missing", `08 | ${SDM}`],
    ["status announced, 1 byte", `10 | ${SDM} | 04`],
    ["pulse and user announced, user missing", `0c | ${SDM} | 4800`],
  ])("an announced field missing is FRAME_SHORT: %s", (_name, hex) => {
    expect(refusal(() => bp(hex))).toBe("FRAME_SHORT");
  });

  it("bytes after the last announced field are FRAME_MALFORMED unless a reserved flag bit is set", () => {
    expect(refusal(() => bp(`00 | ${SDM} | 4800`))).toBe("FRAME_MALFORMED");
    expect(refusal(() => bp(`10 | ${SDM} | 0000 | 00`))).toBe("FRAME_MALFORMED");
    expect(only(bp(`40 | ${SDM} | 4800`)).values).toEqual({
      "bp-systolic": 120,
      "bp-diastolic": 80,
      "bp-mean": 93,
    });
  });
});
