import { describe, expect, it } from "vitest";
import { buildFrame } from "../../drivers/contour-serial/astm.js";
import {
  decodeContourFrame,
  decodeResultRecord,
  parseAstmTime,
  parseHeader,
} from "../../drivers/contour-serial/index.js";
import { only, refusal } from "./helpers.js";

// E1394 result record as Contour meters send it:
// R | record no. | ^^^Glucose | value | unit^reference method | (ranges) | markers | (nature) | YYYYMMDDHHMM[SS]
const result = (fields: { value?: string; unit?: string; markers?: string; time?: string; no?: string }) =>
  `R|${fields.no ?? "8"}|^^^Glucose|${fields.value ?? "133"}|${fields.unit ?? "mg/dL^P"}||${fields.markers ?? ""}||${fields.time ?? "201202052034"}`;

describe("Contour result record, field by field", () => {
  it("the DEVICES.md example: every field", () => {
    expect(only(decodeResultRecord("R|8|^^^Glucose|133|mg/dL^P||B/X||201202052034"))).toEqual({
      kind: "glucose",
      values: { glucose: 133 },
      units: { glucose: "mg/dL" },
      flags: [],
      time: "2012-02-05T20:34:00",
      seq: undefined,
      userSlot: undefined,
      meta: { calibration: "plasma", marker: "before-meal", recordNumber: 8 },
    });
  });

  it("mmol/L with a decimal value", () => {
    const d = only(decodeResultRecord(result({ value: "7.9", unit: "mmol/L^P" })));
    expect(d.values).toEqual({ glucose: 7.9 });
    expect(d.units).toEqual({ glucose: "mmol/L" });
  });

  it("HI (marker >): the value is the meter's limit, flagged above its measuring range", () => {
    const d = only(decodeResultRecord(result({ value: "600", markers: ">" })));
    expect(d.values).toEqual({ glucose: 600 });
    expect(d.flags).toEqual(["above-measuring-range:glucose"]);
  });

  it("LO (marker <): flagged below its measuring range, with the other markers kept", () => {
    const d = only(decodeResultRecord(result({ value: "20", markers: "B/</X" })));
    expect(d.values).toEqual({ glucose: 20 });
    expect(d.flags).toEqual(["below-measuring-range:glucose"]);
    expect(d.meta.marker).toBe("before-meal");
  });

  it("both `>` and `<` is a contradiction: the record is refused", () => {
    expect(refusal(() => decodeResultRecord(result({ markers: ">/<" })))).toBe("FRAME_MALFORMED");
  });

  it.each([
    ["P", "plasma"],
    ["B", "whole-blood"],
    ["W", "whole-blood"],
    ["D", "unknown-D"],
    ["constructor", "unknown-constructor"],
  ])("reference method %s is recorded as %s", (method, calibration) => {
    expect(only(decodeResultRecord(result({ unit: `mg/dL^${method}` }))).meta.calibration).toBe(calibration);
  });

  it("reference method B is whole blood, not plasma", () => {
    expect(only(decodeResultRecord(result({ unit: "mg/dL^B" }))).meta.calibration).toBe("whole-blood");
  });

  it("no reference method is recorded as unknown, not assumed plasma", () => {
    expect(only(decodeResultRecord(result({ unit: "mg/dL" }))).meta.calibration).toBe("unknown-none");
  });

  it.each([
    ["B", "before-meal"],
    ["A", "after-meal"],
    ["F", "fasting"],
    ["D", "dont-feel-right"],
    ["X", undefined],
    ["constructor", undefined],
  ])("marker %s is meta marker %s", (marker, meal) => {
    expect(only(decodeResultRecord(result({ markers: marker }))).meta.marker).toBe(meal);
  });

  it("markers are whole /-separated words: XC is not the control marker C", () => {
    expect(only(decodeResultRecord(result({ markers: "XC/B" }))).meta.marker).toBe("before-meal");
  });

  it("control solution (C or Z) is not a patient reading", () => {
    expect(decodeResultRecord(result({ markers: "C" }))).toEqual([]);
    expect(decodeResultRecord(result({ markers: "B/Z" }))).toEqual([]);
  });

  it("only result records: another record type with a glucose test gives nothing, a cut record nothing", () => {
    expect(decodeResultRecord("Q|1|^^^Glucose|133|mg/dL^P||||201202052034")).toEqual([]);
    expect(decodeResultRecord("R|1")).toEqual([]);
    expect(decodeResultRecord("R")).toEqual([]);
  });

  it("says why a record is refused", () => {
    expect(() => decodeResultRecord(result({ value: "x" }))).toThrow(
      "ASTM glucose record lacks a numeric value or a time",
    );
    expect(() => decodeResultRecord(result({ unit: "mg/L^P" }))).toThrow(
      "ASTM glucose record has unknown unit 'mg/L'",
    );
    expect(() => decodeResultRecord(result({ markers: "</>" }))).toThrow(
      "ASTM glucose record is both above and below range",
    );
  });

  it("values with decimals are read in full", () => {
    expect(only(decodeResultRecord(result({ value: "12.25" }))).values).toEqual({ glucose: 12.25 });
    expect(only(decodeResultRecord(result({ value: "7.95", unit: "mmol/L^P" }))).values).toEqual({
      glucose: 7.95,
    });
  });

  it("the first meal marker wins whatever comes before it; none leaves no marker", () => {
    expect(only(decodeResultRecord(result({ markers: "X/A/B" }))).meta.marker).toBe("after-meal");
    expect("marker" in only(decodeResultRecord(result({ markers: "X" }))).meta).toBe(false);
    expect("marker" in only(decodeResultRecord(result({ markers: "" }))).meta).toBe(false);
  });

  it("records other than glucose results give nothing", () => {
    expect(decodeResultRecord("R|10|^^^Insulin|4|U^||||201202060716")).toEqual([]);
    expect(decodeResultRecord("R|11|^^^Carb|40|g^||||201202060716")).toEqual([]);
    expect(decodeResultRecord("P|1")).toEqual([]);
    expect(decodeResultRecord("L|1||N")).toEqual([]);
    expect(decodeResultRecord("")).toEqual([]);
  });

  it.each([
    ["an exponent", "1e3"],
    ["hex", "0x10"],
    ["a sign", "-5"],
    ["spaces", " 12"],
    ["nothing", ""],
    ["two points", "1.2.3"],
    ["a trailing point", "12."],
  ])("a value with %s is FRAME_MALFORMED", (_name, value) => {
    expect(refusal(() => decodeResultRecord(result({ value })))).toBe("FRAME_MALFORMED");
  });

  it("an unknown unit or a missing time is FRAME_MALFORMED", () => {
    expect(refusal(() => decodeResultRecord(result({ unit: "mg/L^P" })))).toBe("FRAME_MALFORMED");
    expect(refusal(() => decodeResultRecord(result({ time: "2012020520" })))).toBe("FRAME_MALFORMED");
    expect(refusal(() => decodeResultRecord("R|1|^^^Glucose|100"))).toBe("FRAME_MALFORMED");
  });

  it("a record number that is not a number is left out", () => {
    expect(only(decodeResultRecord(result({ no: "x" }))).meta.recordNumber).toBeUndefined();
    expect(only(decodeResultRecord(result({ no: "" }))).meta.recordNumber).toBeUndefined();
    expect(only(decodeResultRecord(result({ no: "8x" }))).meta.recordNumber).toBeUndefined();
    expect(only(decodeResultRecord(result({ no: "x8" }))).meta.recordNumber).toBeUndefined();
    expect(only(decodeResultRecord(result({ no: "12" }))).meta.recordNumber).toBe(12);
  });
});

describe("Contour times and header", () => {
  it("reads YYYYMMDDHHMM and YYYYMMDDHHMMSS, nothing else", () => {
    expect(parseAstmTime("201202052034")).toEqual({
      year: 2012,
      month: 2,
      day: 5,
      hours: 20,
      minutes: 34,
      seconds: 0,
    });
    expect(parseAstmTime("20120205203459")?.seconds).toBe(59);
    for (const bad of [
      "",
      "20120205203",
      "2012020520345",
      "201202052034599",
      "2012-02-05T20",
      "x01202052034",
    ]) {
      expect(parseAstmTime(bad), bad).toBeUndefined();
    }
  });

  it("the header gives the serial number and the meter's clock (its last time field)", () => {
    const h = parseHeader(
      "H|\\^&||qvqOi8|Bayer7390^01.24\\01.04\\04.02.19^7390-1234567^7403-|A=1^C=21|10||||||P|1|201202061200",
    );
    expect(h).toEqual({
      serial: "7390-1234567",
      meterTime: { year: 2012, month: 2, day: 6, hours: 12, minutes: 0, seconds: 0 },
    });
    expect(parseHeader("H|\\^&")).toStrictEqual({});
    // the clock is the last field that is a time, whatever follows it
    expect(parseHeader("H|\\^&||x|Bayer^1^SN1|201101011200||201202061200|").meterTime?.year).toBe(2012);
    expect(parseHeader("H|\\^&||x|Bayer^1|201101011200")).toStrictEqual({
      meterTime: { year: 2011, month: 1, day: 1, hours: 12, minutes: 0, seconds: 0 },
    });
  });
});

describe("decoding one captured frame (pkb-hub decode)", () => {
  it("decodes every record of the frame", () => {
    const f = buildFrame(1, `${result({ value: "101" })}\r${result({ value: "102", no: "9" })}\r`);
    expect(decodeContourFrame(f).map((d) => d.components[0]?.value)).toEqual([101, 102]);
  });

  it("a control byte alone is no frame", () => {
    expect(refusal(() => decodeContourFrame(Uint8Array.of(0x05)))).toBe("FRAME_SHORT");
  });
});
