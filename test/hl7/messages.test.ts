import { describe, expect, it } from "vitest";
import { FakeClock } from "../../src/core/clock.js";
import { finishReading } from "../../src/core/finish.js";
import { parseAck, queryResult } from "../../src/forward/hl7/ack.js";
import { escapeHl7, ParsedMessage, unescapeHl7 } from "../../src/forward/hl7/encoding.js";
import { buildAdtA28, buildMdmT02, buildOruR01, buildQryA19 } from "../../src/forward/hl7/messages.js";
import { interpret } from "../../src/forward/hl7/outcome.js";
import { extractHl7, soapEnvelope, soapFault } from "../../src/forward/hl7/soap.js";
import { IndependentHl7 } from "../../src/forward/hl7/standard.js";
import { hl7Time } from "../../src/forward/hl7/time.js";
import { hl7FromSoap } from "../standin/hl7/server.js";

const sender = {
  sendingApplication: "PKBHUB",
  sendingFacility: "DEMOALIAS",
  processingId: "P",
  timeZone: "Europe/London",
};
const patient = {
  nhsNumber: "9434765919",
  firstName: "Ann|e",
  lastName: "O^Brien & Co~\\",
  dob: "1950-01-31",
  sex: "F",
};
const now = Date.UTC(2026, 6, 1, 11, 30, 5);
const sct = { snomed: {}, codingSystem: "SCT" };
const clock = new FakeClock(now);
const bp = finishReading(
  {
    kind: "blood-pressure",
    components: [
      { id: "bp-systolic", value: 120, unit: "mm[Hg]" },
      { id: "bp-diastolic", value: 80, unit: "mm[Hg]" },
    ],
    deviceTime: { year: 2026, month: 7, day: 1, hours: 12, minutes: 0, seconds: 0 },
  },
  { deviceId: "d", driver: "t", patient: "p", timeZone: "Europe/London", clock, receivedAtMs: now },
);

describe("HL7 encoding", () => {
  it("escapes every delimiter and round-trips", () => {
    const raw = "a|b^c&d~e\\f\ng";
    expect(escapeHl7(raw)).toBe("a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f\\.br\\g");
    expect(unescapeHl7(escapeHl7(raw))).toBe(raw);
    expect(unescapeHl7("\\X41\\")).toBe("A");
  });

  it("timestamps: MSH-7 without offset in the hub's zone, observations with their offset", () => {
    expect(hl7Time(now, "Europe/London")).toBe("20260701123005");
    expect(hl7Time(now, "Europe/London", true)).toBe("20260701123005+0100");
  });
});

describe("messages", () => {
  it("ADT^A28 carries PID-3 NHS^NH, escaped names, DOB and sex, and parses back", () => {
    const text = buildAdtA28(sender, patient, "c1", now);
    expect(text.split("\r").map((s) => s.slice(0, 3))).toEqual(["MSH", "EVN", "PID", "PV1"]);
    const m = new ParsedMessage(text);
    expect(m.get("MSH", 9, 1)).toBe("ADT");
    expect(m.get("MSH", 9, 2)).toBe("A28");
    expect(m.get("MSH", 4)).toBe("DEMOALIAS");
    expect(m.get("MSH", 12)).toBe("2.4");
    expect(m.get("PID", 3, 1)).toBe("9434765919");
    expect(m.get("PID", 3, 5)).toBe("NH");
    expect(m.get("PID", 5, 1)).toBe("O^Brien & Co~\\");
    expect(m.get("PID", 5, 2)).toBe("Ann|e");
    expect(m.get("PID", 7)).toBe("19500131");
    const independent = new IndependentHl7(text);
    expect(independent.get("MSH.9.2")).toBe("A28");
    expect(independent.get("PID.3.1")).toBe("9434765919");
  });

  it("QRY^A19: QRD-8.1 NHS number with QRD-8.13 NH, QRD-9 DEM", () => {
    const m = new ParsedMessage(buildQryA19(sender, "943 476 5919", "q1", now, "1Z"));
    expect(m.get("QRD", 8, 1)).toBe("9434765919");
    expect(m.get("QRD", 8, 13)).toBe("NH");
    expect(m.get("QRD", 9)).toBe("DEM");
    expect(m.get("QRD", 4)).toBe("1Z");
  });

  it("ORU^R01: OBR-3.1 report id, one SNOMED-coded NM OBX per value with unit, F and time", () => {
    const m = new ParsedMessage(buildOruR01(sender, patient, [bp], "rep-1", "o1", now, sct));
    expect(m.get("OBR", 3, 1)).toBe("rep-1");
    const obx = m.all("OBX");
    expect(obx).toHaveLength(2);
    expect(m.value(obx[0], 3, 1)).toBe("72313002");
    expect(m.value(obx[0], 3, 3)).toBe("SCT");
    expect(m.value(obx[0], 2)).toBe("NM");
    expect(m.value(obx[0], 5)).toBe("120");
    expect(m.value(obx[0], 6)).toBe("mm[Hg]");
    expect(m.value(obx[0], 11)).toBe("F");
    expect(m.value(obx[0], 14)).toBe("20260701120000+0100");
    expect(m.value(obx[1], 3, 1)).toBe("1091811000000102");
  });

  it("the SNOMED code and unit table is configurable per partner", () => {
    const m = new ParsedMessage(
      buildOruR01(sender, patient, [bp], "r", "o", now, {
        snomed: { "bp-systolic": { code: "271649006", unit: "mmHg" } },
        codingSystem: "SCT",
      }),
    );
    expect(m.value(m.all("OBX")[0], 3, 1)).toBe("271649006");
    expect(m.value(m.all("OBX")[0], 6)).toBe("mmHg");
  });

  it("MDM^T02: TXA-2 type, TXA-12 number, TXA-17 AU, OBX ED base64 PDF", () => {
    const doc = {
      documentNumber: "doc-1",
      typeCode: "DS",
      title: "Summary",
      fileName: "s.pdf",
      pdfBase64: "JVBERi0=",
      createdMs: now,
    };
    const m = new ParsedMessage(buildMdmT02(sender, patient, doc, "m1", now));
    expect(m.get("TXA", 2)).toBe("DS");
    expect(m.get("TXA", 12)).toBe("doc-1");
    expect(m.get("TXA", 17)).toBe("AU");
    expect(m.get("OBX", 2)).toBe("ED");
    expect(m.get("OBX", 5, 5)).toBe("JVBERi0=");
    expect(m.get("OBX", 5, 3)).toBe("PDF");
  });

  it("an invalid NHS number is never put in a message", () => {
    expect(() => buildAdtA28(sender, { ...patient, nhsNumber: "9434765918" }, "c", now)).toThrow(
      expect.objectContaining({ code: "NHS_NUMBER_INVALID" }),
    );
  });

  it("ACK parsing: MSA-1/2/3, and the patients an ADR^A19 lists", () => {
    expect(
      parseAck(
        "MSH|^~\\&|PKB|PKB|||20260101||ACK^R01|a|P|2.4\rMSA|AR|c1|No observation timestamp in OBX or OBR",
      ),
    ).toEqual({
      code: "AR",
      controlId: "c1",
      text: "No observation timestamp in OBX or OBR",
      queryId: "",
      errorCodes: [],
      patients: [],
    });
    expect(() => parseAck("nonsense")).toThrow(expect.objectContaining({ code: "PROTOCOL" }));
    const adr = parseAck(
      "MSH|^~\\&|PKB|PKB|||20260101||ADR^A19|a|P|2.4\rMSA|AA|q1\rQRD|x|R|I|q1\rPID|1||PKB123^^^PKB^PI~943 476 5919^^^NHS^NH||E^A",
    );
    expect(adr.patients).toEqual([["PKB123", "9434765919"]]);
    expect(queryResult(adr, "9434765919")).toEqual({ found: true, mismatch: false });
    expect(queryResult(adr, "4010232137")).toEqual({ found: true, mismatch: true });
    expect(queryResult(parseAck("MSH|^~\\&|P\rMSA|AA|q1"), "9434765919").found).toBe(false);
  });

  it("an answer is read with the delimiters its MSH declares", () => {
    const m = new ParsedMessage("MSH#*~\\@#PKB\nMSA#AR#c1#Bad \\F\\ value*second");
    expect(m.get("MSA", 3)).toBe("Bad # value"); // \F\ is this message's own field separator
    expect(m.get("MSA", 3, 2)).toBe("second");
  });

  it("control characters are escaped (they cannot travel in the SOAP XML)", () => {
    expect(escapeHl7("a\u0001b\tc")).toBe("a\\X01\\b\tc"); // tab is allowed in XML
    expect(unescapeHl7(escapeHl7("a\u0001b\tc"))).toBe("a\u0001b\tc");
  });
});

describe("SOAP", () => {
  it("wraps HL7 in acceptMessage/arg0 CDATA (even with ]]> inside) and the stand-in gets it back whole", () => {
    const hl7 = "MSH|^~\\&|A|B\rNTE|1||x]]>y";
    const env = soapEnvelope(hl7);
    expect(env).toContain('xmlns:pkb="http://wsssl.hl7api.patientsknowbest.com/"');
    expect(env).toContain("<pkb:acceptMessage><arg0><![CDATA[");
    expect(hl7FromSoap(env)).toBe(hl7);
  });

  it("finds the ACK in an answer whatever the element, and recognises faults", () => {
    expect(extractHl7("<x><return><![CDATA[MSH|^~\\&|P\rMSA|AA|1]]></return></x>")).toBe(
      "MSH|^~\\&|P\rMSA|AA|1",
    );
    expect(extractHl7("<x><return>MSH|^~\\&amp;|P&#13;MSA|AA|1</return></x>")).toBe("MSH|^~\\&|P\rMSA|AA|1");
    expect(
      soapFault("<soap:Fault><faultcode>soap:Client</faultcode><faultstring>boom</faultstring></soap:Fault>"),
    ).toEqual({
      code: "Client",
      text: "boom",
    });
    expect(soapFault("<return>MSH|...</return>")).toBeUndefined();
  });
});

describe("answers → outcomes", () => {
  const ack = (code: string) =>
    `<r><![CDATA[MSH|^~\\&|PKB|PKB|||20260101||ACK^R01|a|P|2.4\rMSA|${code}|c1|why]]></r>`;

  it("classifies every kind of answer", () => {
    expect(interpret({ status: 200, body: ack("AA") })).toMatchObject({ ack: { code: "AA" } });
    expect(interpret({ networkError: "ECONNREFUSED", maybeSent: false })).toEqual({
      outcome: { kind: "retry", error: "ECONNREFUSED", ambiguous: false },
    });
    expect(interpret({ networkError: "TIMEOUT", maybeSent: true })).toMatchObject({
      outcome: { kind: "retry", ambiguous: true },
    });
    expect(interpret({ status: 500, body: "" })).toMatchObject({
      outcome: { kind: "retry", ambiguous: true },
    });
    expect(interpret({ status: 429, body: "", retryAfterMs: 5000 })).toMatchObject({
      outcome: { kind: "retry", ambiguous: false, retryAfterMs: 5000 },
    });
    expect(interpret({ status: 401, body: "" })).toMatchObject({
      outcome: { kind: "retry", retryAfterMs: 600_000 },
      blocked: "HL7_AUTH_FAILED",
    });
    expect(interpret({ status: 400, body: "" })).toEqual({
      outcome: { kind: "rejected", reason: "HTTP 400" },
    });
    expect(interpret({ status: 200, body: "<ok/>" })).toEqual({
      unreadable: "answer carried no HL7 acknowledgement",
    });
  });
});
