import { describe, expect, it } from "vitest";
import { meansPatientUnknown, parseAck, queryResult } from "../../src/forward/hl7/ack.js";

const MSH = "MSH|^~\\&|PKB|PKB|PKBHUB||20260101000000||ACK^R01|a1|P|2.4";

describe("parseAck", () => {
  it("reads MSA-1/2/3, QRD-4, ERR codes and the patients an ADR^A19 lists", () => {
    const adr = parseAck(
      `${MSH}\rMSA|AA|q1|fine\rQRD|20260101|R|I| Q7 \rPID|1||PKB123^^^PKB^PI~943 476 5919^^^NHS^NH~12 34^^^X^MR||E^A\rPID|2||4010232137^^^NHS^NH`,
    );
    expect(adr).toEqual({
      code: "AA",
      text: "fine",
      controlId: "q1",
      queryId: "Q7",
      errorCodes: [],
      patients: [["PKB123", "9434765919", "12 34"], ["4010232137"]],
    });
  });

  it("reads the harmless variants as meant: MSA-1 in any case or with spaces, MSA-2 with spaces", () => {
    for (const msa of ["MSA|aa|c1", "MSA|AA |c1", "MSA| Aa| c1 ", "MSA|\tAA\t|c1"])
      expect(parseAck(`${MSH}\r${msa}`), msa).toMatchObject({ code: "AA", controlId: "c1" });
    for (const code of ["AA", "AE", "AR", "CA", "CE", "CR"])
      expect(parseAck(`${MSH}\rMSA|${code.toLowerCase()}|c1`).code).toBe(code);
  });

  it("collects error codes from ERR-3 (v2.5) and ERR-1.4 (v2.4), trimmed, none when empty", () => {
    const ack = parseAck(`${MSH}\rMSA|AE|c1\rERR|^^^ 204 &Unknown key\rERR|||207\rERR|||   \rERR|`);
    expect(ack.errorCodes).toEqual(["204", "207"]);
  });

  it("refuses what is not an acknowledgement: no MSH first, no MSA, an MSA-1 it does not know", () => {
    const cases: Array<[string, string]> = [
      ["nonsense", "answer does not start with an MSH segment"],
      ["", "answer does not start with an MSH segment"],
      ["MSA|AA|c1", "answer does not start with an MSH segment"],
      [`PID|1\r${MSH}\rMSA|AA|c1`, "answer does not start with an MSH segment"],
      [MSH, "answer has no valid MSA-1"],
      [`${MSH}\rMSA||c1`, "answer has no valid MSA-1"],
      [`${MSH}\rMSA|OK|c1`, "answer has no valid MSA-1"],
      [`${MSH}\rMSA|AAA|c1`, "answer has no valid MSA-1"],
      [`${MSH}\rMSA|A A|c1`, "answer has no valid MSA-1"],
    ];
    for (const [text, why] of cases)
      expect(() => parseAck(text), text).toThrow(expect.objectContaining({ code: "PROTOCOL", message: why }));
  });
});

describe("queryResult", () => {
  const adr = (pids: string) => parseAck(`${MSH}\rMSA|AA|q1\rQRD|x|R|I|1${pids}`);

  it("no patient listed: not found", () => {
    expect(queryResult(adr(""), "9434765919")).toEqual({ found: false, mismatch: false });
  });

  it("the NHS number listed: found; only other NHS numbers: found but a mismatch; no NHS number at all: found", () => {
    expect(queryResult(adr("\rPID|1||9434765919^^^NHS^NH"), "9434765919")).toEqual({
      found: true,
      mismatch: false,
    });
    expect(queryResult(adr("\rPID|1||4010232137^^^NHS^NH"), "9434765919")).toEqual({
      found: true,
      mismatch: true,
    });
    expect(
      queryResult(adr("\rPID|1||4010232137^^^NHS^NH\rPID|2||9434765919^^^NHS^NH"), "9434765919"),
    ).toEqual({ found: true, mismatch: false });
    expect(queryResult(adr("\rPID|1||PKB123^^^PKB^PI"), "9434765919")).toEqual({
      found: true,
      mismatch: false,
    });
    // Ten-digit identifiers only count as NHS numbers: a 9- or 11-digit id is not compared.
    expect(queryResult(adr("\rPID|1||943476591^^^X^PI~94347659190^^^X^PI"), "9434765919")).toEqual({
      found: true,
      mismatch: false,
    });
    expect(queryResult(adr("\rPID|1||A9434765919^^^X^PI"), "9434765919")).toEqual({
      found: true,
      mismatch: false,
    });
  });
});

describe("meansPatientUnknown", () => {
  const ack = (code: string, text: string, err = "") =>
    parseAck(`${MSH}\rMSA|${code}|c1|${text}${err ? `\rERR|${err}` : ""}`);

  it("AR or AE saying the patient is not known, in PKB's words or as ERR 204", () => {
    for (const text of [
      "Patient not found",
      "PATIENT NOT KNOWN",
      "patient not registered",
      "Patient not recognised",
      "Patient not recognized",
      "Unknown patient",
      "No such patient",
      "The patient 9434765919 does not exist",
      "Patient doesn't exist",
      "Patient doesnt exist",
      "Patient is unknown",
      "Patient no longer exists",
    ]) {
      expect(meansPatientUnknown(ack("AR", text)), text).toBe(true);
      expect(meansPatientUnknown(ack("AE", text)), text).toBe(true);
    }
    expect(meansPatientUnknown(ack("AE", "", "^^^204&Unknown key identifier"))).toBe(true);
    expect(meansPatientUnknown(ack("AR", "", "||204"))).toBe(true);
  });

  it("nothing else: other refusals, other sentences, other codes, an acceptance", () => {
    for (const text of [
      "No observation timestamp in OBX or OBR",
      "Invalid NHS number",
      "Patient record updated. Unknown measurement",
      "Unknown measurement: SNOMED 1 with unit kg",
      "Outpatient not found",
      "patients",
      "",
    ])
      expect(meansPatientUnknown(ack("AR", text)), text).toBe(false);
    expect(meansPatientUnknown(ack("AR", "", "||207"))).toBe(false);
    expect(meansPatientUnknown(ack("AR", "", "||2040"))).toBe(false);
    for (const code of ["AA", "CA", "CE", "CR"])
      expect(meansPatientUnknown(ack(code, "Patient not found", "||204")), code).toBe(false);
  });
});
