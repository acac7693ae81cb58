import { describe, expect, it } from "vitest";
import { bit, float32, hex, knownTime, Reader, sfloat } from "../../drivers/ieee11073.js";
import { refusal } from "./helpers.js";

describe("SFLOAT (16 bit: 4-bit signed exponent, 12-bit signed mantissa)", () => {
  it.each([
    [0x008c, 140], // DEVICES.md: 8C 00
    [0xf5f2, 152.2], // DEVICES.md: F2 F5, exponent -1, mantissa 1522
    [0x0000, 0],
    [0x0001, 1],
    [0x07fd, 2045], // largest mantissa that is no special value
    [0x0fff, -1], // mantissa 0xFFF is -1
    [0x0803, -2045], // smallest mantissa that is no special value
    [0x1001, 10], // exponent +1
    [0x7001, 10_000_000], // exponent +7, the largest
    [0x4003, 30000], // multiplied, not divided by 10^-4 (30000.000000000004)
    [0x5001, 100000],
    [0x8001, 1e-8], // exponent -8, the smallest
    [0xf001, 0.1],
    [0xe00c, 0.12],
    [0x17ff, 20470], // mantissa 0x7FF with exponent 1 is a number, not NaN
    [0x1800, -20480], // mantissa 0x800 with exponent 1 is a number, not NRes
    [0xf800, -204.8],
  ])("raw %i", (raw, value) => {
    expect(sfloat(raw)).toEqual({ ok: true, value });
  });

  it.each([
    [0x07ff, "nan"],
    [0x0800, "nres"],
    [0x07fe, "+inf"],
    [0x0802, "-inf"],
    [0x0801, "reserved"],
  ])("special raw %i is %s, never a number", (raw, special) => {
    expect(sfloat(raw)).toEqual({ ok: false, special });
  });
});

describe("FLOAT (32 bit: 8-bit signed exponent, 24-bit signed mantissa)", () => {
  it.each([
    [0xff000174, 37.2], // DEVICES.md: 74 01 00 FF
    [0x00000000, 0],
    [0x007ffffd, 8388605],
    [0x00ffffff, -1],
    [0x00800003, -8388605],
    [0x01000001, 10],
    [0x7f000001, 1e127],
    [0x80000001, 1 / 10 ** 128], // exponent -128, the smallest
    [0xfd0004d2, 1.234],
    [0x017fffff, 83886070], // mantissa 0x7FFFFF with exponent 1 is a number
    [0x01800000, -83886080],
  ])("raw %i", (raw, value) => {
    expect(float32(raw)).toEqual({ ok: true, value });
  });

  it.each([
    [0x007fffff, "nan"],
    [0x00800000, "nres"],
    [0x007ffffe, "+inf"],
    [0x00800002, "-inf"],
    [0x00800001, "reserved"],
  ])("special raw %i is %s", (raw, special) => {
    expect(float32(raw)).toEqual({ ok: false, special });
  });
});

describe("Reader: little-endian fields, FRAME_SHORT past the end", () => {
  const bytes = Uint8Array.from([0x01, 0x34, 0x12, 0xff, 0xff, 0x56, 0x34, 0x12, 0x74, 0x01, 0x00, 0xff]);

  it("reads u8, u16, s16, u24 and FLOAT in order, counting what remains", () => {
    const r = new Reader(bytes, "test");
    expect(r.remaining).toBe(12);
    expect(r.u8()).toBe(0x01);
    expect(r.u16()).toBe(0x1234);
    expect(r.s16()).toBe(-1);
    expect(r.u24()).toBe(0x123456);
    expect(r.remaining).toBe(4);
    expect(r.float()).toEqual({ ok: true, value: 37.2 });
    expect(r.remaining).toBe(0);
  });

  it.each([
    [[0x00, 0x80], -32768],
    [[0xff, 0x7f], 32767],
    [[0x00, 0x00], 0],
    [[0xff, 0xff], -1],
  ])("s16 %j is %i", (b, v) => {
    expect(new Reader(Uint8Array.from(b), "t").s16()).toBe(v);
  });

  it("u16 and u24 read their high bytes in full", () => {
    expect(new Reader(Uint8Array.of(0xff, 0xff), "t").u16()).toBe(0xffff);
    expect(new Reader(Uint8Array.of(0xff, 0xff, 0xff), "t").u24()).toBe(0xffffff);
    expect(new Reader(Uint8Array.of(0x00, 0x00, 0x80), "t").u24()).toBe(0x800000);
  });

  it("reads a Date Time: year u16, month, day, hours, minutes, seconds", () => {
    const r = new Reader(Uint8Array.of(0xea, 0x07, 0x0b, 0x18, 0x08, 0x1e, 0x3b), "t");
    expect(r.dateTime()).toEqual({ year: 2026, month: 11, day: 24, hours: 8, minutes: 30, seconds: 59 });
  });

  it("reads an SFLOAT little-endian and skips bytes", () => {
    const r = new Reader(Uint8Array.of(0xf2, 0xf5, 0x00, 0x00, 0x8c, 0x00), "t");
    expect(r.sfloat()).toEqual({ ok: true, value: 152.2 });
    r.skip(2);
    expect(r.sfloat()).toEqual({ ok: true, value: 140 });
  });

  it("fails with FRAME_SHORT naming the frame, its length and what was needed", () => {
    const r = new Reader(Uint8Array.of(0x01, 0x02, 0x03), "weight measurement");
    r.u16();
    let message = "";
    try {
      r.u16();
    } catch (err) {
      message = (err as Error).message;
      expect((err as { code: string }).code).toBe("FRAME_SHORT");
    }
    expect(message).toBe("weight measurement: frame is 3 bytes, needed 4 at least");
    expect(r.u8()).toBe(0x03); // a failed read consumes nothing
    expect(refusal(() => r.u8())).toBe("FRAME_SHORT");
    expect(refusal(() => new Reader(new Uint8Array(2), "t").u24())).toBe("FRAME_SHORT");
    expect(refusal(() => new Reader(new Uint8Array(3), "t").float())).toBe("FRAME_SHORT");
    expect(refusal(() => new Reader(new Uint8Array(6), "t").dateTime())).toBe("FRAME_SHORT");
    expect(refusal(() => new Reader(new Uint8Array(1), "t").skip(2))).toBe("FRAME_SHORT");
    expect(new Reader(new Uint8Array(2), "t").u16()).toBe(0); // exactly enough is enough
  });

  it("end: nothing left is fine; left-over bytes are FRAME_MALFORMED unless a reserved flag bit is set", () => {
    const done = new Reader(Uint8Array.of(0x01), "t");
    done.u8();
    expect(() => done.end(0x00, 0xe0)).not.toThrow();
    const extra = new Reader(Uint8Array.of(0x01, 0x02), "heart rate measurement");
    extra.u8();
    let message = "";
    try {
      extra.end(0x1f, 0xe0);
    } catch (err) {
      message = (err as Error).message;
      expect((err as { code: string }).code).toBe("FRAME_MALFORMED");
    }
    expect(message).toBe("heart rate measurement: 1 byte(s) after the last field the flags announce");
    expect(() => extra.end(0x20, 0xe0)).not.toThrow();
    expect(() => extra.end(0x80, 0xe0)).not.toThrow();
  });
});

describe("helpers", () => {
  it("knownTime: year, month or day 0 means unknown", () => {
    const t = { year: 2026, month: 11, day: 24, hours: 0, minutes: 0, seconds: 0 };
    expect(knownTime(t)).toBe(t);
    expect(knownTime({ ...t, year: 0 })).toBeUndefined();
    expect(knownTime({ ...t, month: 0 })).toBeUndefined();
    expect(knownTime({ ...t, day: 0 })).toBeUndefined();
  });

  it("bit: bit n of a flags value", () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((n) => bit(0b1010_0101, n))).toEqual([
      true,
      false,
      true,
      false,
      false,
      true,
      false,
      true,
    ]);
    expect(bit(0x8000, 15)).toBe(true);
    expect(bit(0x800000, 23)).toBe(true);
  });

  it("hex: two lower-case digits a byte", () => {
    expect(hex(Uint8Array.of(0x00, 0xab, 0x0f, 0x10))).toBe("00ab0f10");
    expect(hex(new Uint8Array(0))).toBe("");
  });
});
