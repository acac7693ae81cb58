import { describe, expect, it } from "vitest";
import { flagNotes } from "../../src/forward/hl7/flags.js";
import {
  abnormalFlag,
  buildAdtA28,
  buildMdmT02,
  buildOruR01,
  buildQryA19,
  UTF8_CHARSET,
} from "../../src/forward/hl7/messages.js";
import { expectValidHl7 } from "./check.js";
import { bpReading, glucoseReading, NOW, SCT, sender as senderOf } from "./fixtures.js";

/** Every message type byte for byte, each field checked by hand against PKB.md and HL7 v2.4. */
const ann = { nhsNumber: "9434765919", firstName: "Ann", lastName: "Example", dob: "1950-01-31", sex: "F" };
const now = NOW;
const sct = SCT;
const sender = senderOf("T");
const MSH = "MSH|^~\\&|PKBHUB|DEMOALIAS|HL7API|PKB|20260701123005|";
const PID = "PID|1||9434765919^^^NHS^NH||Example^Ann||19500131|F";
const bp = bpReading(["above-measuring-range:bp-systolic", "below-measuring-range:bp-diastolic"]);
const glucose = glucoseReading();

describe("HL7 messages, byte for byte", () => {
  it("QRY^A19: QRD-4 the query id, QRD-7 1^RD, QRD-8.1 the NHS number with QRD-8.13 NH, QRD-9 DEM", () => {
    const text = buildQryA19(sender, "943 476 5919", "c1", now, "1Z");
    expect(text.split("\r")).toEqual([
      `${MSH}|QRY^A19^QRY_A19|c1|T|2.4`,
      "QRD|20260701123005|R|I|1Z|||1^RD|9434765919^^^^^^^^^^^^NH|DEM",
    ]);
    expectValidHl7(text.replace("|c1|", "|0123456789abcdef0123|"));
  });

  it("ADT^A28: EVN, PID (NHS^NH, name, DOB, sex) and PV1 'N'; MSH-18 only when a name needs it", () => {
    expect(buildAdtA28(sender, ann, "c2", now).split("\r")).toEqual([
      `${MSH}|ADT^A28^ADT_A05|c2|T|2.4`,
      "EVN|A28|20260701123005",
      PID,
      "PV1|1|N",
    ]);
    expect(UTF8_CHARSET).toBe("UNICODE UTF-8");
    expect(buildAdtA28(sender, { ...ann, firstName: "Zoë" }, "c2", now).split("\r")).toEqual([
      `${MSH}|ADT^A28^ADT_A05|c2|T|2.4||||||UNICODE UTF-8`,
      "EVN|A28|20260701123005",
      "PID|1||9434765919^^^NHS^NH||Example^Zoë||19500131|F",
      "PV1|1|N",
    ]);
    // U+0080 is the first character beyond ASCII; U+007F (DEL) is ASCII (and escaped).
    expect(buildAdtA28(sender, { ...ann, firstName: "A\u0080" }, "c", now)).toContain("||UNICODE UTF-8\r");
    expect(buildAdtA28(sender, { ...ann, firstName: "A\u007f" }, "c", now)).not.toContain("UNICODE");
    expect(buildAdtA28(sender, { ...ann, firstName: "A\u{1F469}" }, "c", now)).toContain("||UNICODE UTF-8\r");
  });

  it("ORU^R01: OBR-3 report id and OBR-7; per value an OBX with its sub-id, unit, > or < and time, then an NTE per flag", () => {
    const text = buildOruR01(sender, ann, [bp, glucose], "REPORT1", "c3", now, sct);
    expect(text.split("\r")).toEqual([
      `${MSH}|ORU^R01^ORU_R01|c3|T|2.4`,
      PID,
      "OBR|1||REPORT1|MEASUREMENTS^Home device measurements|||20260701120000+0100",
      "OBX|1|NM|72313002^systolic blood pressure^SCT|1|120|mm[Hg]||>|||F|||20260701120000+0100",
      "NTE|1|L|above-measuring-range:bp-systolic: the device showed HI: the value is its upper limit, the true value is higher|RE^Remark^HL70364",
      "OBX|2|NM|1091811000000102^diastolic blood pressure^SCT|1|80|mm[Hg]||<|||F|||20260701120000+0100",
      "NTE|1|L|below-measuring-range:bp-diastolic: the device showed LO: the value is its lower limit, the true value is lower|RE^Remark^HL70364",
      "OBX|3|NM|434912009^blood glucose^SCT|2|5.5|mmol/L|||||F|||20260102080509+0000",
    ]);
    expectValidHl7(text.replace("|c3|", "|0123456789abcdef0123|"));
    expect(() => buildOruR01(sender, ann, [], "R", "c", now, sct)).toThrow(
      expect.objectContaining({ code: "INTERNAL", message: "an ORU needs at least one reading" }),
    );
  });

  it("MDM^T02: TXA type, times with offset, document number, file name, AU; OBX ED ^TEXT^PDF^Base64^", () => {
    const doc = {
      documentNumber: "doc-1",
      typeCode: "CP",
      title: "Care plan",
      fileName: "plan.pdf",
      pdfBase64: "JVBERi0=",
      createdMs: Date.UTC(2026, 0, 15, 9, 0, 0),
    };
    const text = buildMdmT02(sender, ann, doc, "c4", now);
    expect(text.split("\r")).toEqual([
      `${MSH}|MDM^T02^MDM_T02|c4|T|2.4`,
      "EVN|T02|20260701123005",
      PID,
      "PV1|1|N",
      "TXA|1|CP|AP|20260115090000+0000||20260115090000+0000|20260115090000+0000|20260115090000+0000||||doc-1||||plan.pdf|AU",
      "OBX|1|ED|DOC^Care plan||^TEXT^PDF^Base64^JVBERi0=||||||F",
    ]);
    expectValidHl7(text.replace("|c4|", "|0123456789abcdef0123|"));
    expect(() => buildMdmT02(sender, ann, { ...doc, pdfBase64: "" }, "c", now)).toThrow(
      expect.objectContaining({ code: "DOCUMENT_INVALID", message: "an MDM^T02 needs document content" }),
    );
  });

  it("OBX-8 from the device's HI/LO only, for that component only; an unusual value gets no 'A' (no clinical judgement)", () => {
    expect(abnormalFlag({ flags: ["above-measuring-range:glucose"] }, "glucose")).toBe(">");
    expect(abnormalFlag({ flags: ["below-measuring-range:glucose"] }, "glucose")).toBe("<");
    expect(abnormalFlag({ flags: ["above-measuring-range:spo2"] }, "glucose")).toBeUndefined();
    expect(abnormalFlag({ flags: ["below-measuring-range:spo2"] }, "glucose")).toBeUndefined();
    expect(
      abnormalFlag({ flags: ["out-of-range:glucose", "impossible:glucose"] }, "glucose"),
    ).toBeUndefined();
    expect(abnormalFlag({ flags: ["out-of-range:spo2"] }, "glucose")).toBeUndefined();
    // The limit the device showed is not a value to judge: HI/LO wins.
    expect(
      abnormalFlag({ flags: ["out-of-range:glucose", "below-measuring-range:glucose"] }, "glucose"),
    ).toBe("<");
    expect(abnormalFlag({ flags: [] }, "glucose")).toBeUndefined();
  });

  it("NTE per flag of the OBX's component or of the whole reading, numbered within the OBX; an unknown flag as it is", () => {
    const flags = ["out-of-range:spo2", "irregular-pulse", "device-clock-skew", "ambiguous-local-time"];
    expect(flagNotes({ flags }, "pulse-rate")).toEqual([
      "NTE|1|L|irregular-pulse|RE^Remark^HL70364",
      "NTE|2|L|device-clock-skew: the device's clock differed from the hub's by more than 5 minutes|RE^Remark^HL70364",
      "NTE|3|L|ambiguous-local-time: the device's local time fell in the hour repeated by a clock change: the time may be an hour out, and this reading may be a second copy of another|RE^Remark^HL70364",
    ]);
    expect(flagNotes({ flags: ["out-of-range:spo2"] }, "spo2")).toEqual([
      "NTE|1|L|out-of-range:spo2: outside the range expected of a home measurement of this kind; kept as measured|RE^Remark^HL70364",
    ]);
    expect(flagNotes({ flags: ["a|b^c"] }, "spo2")).toEqual(["NTE|1|L|a\\F\\b\\S\\c|RE^Remark^HL70364"]);
    expect(flagNotes({ flags: [] }, "spo2")).toEqual([]);
  });
});
