import { CODES, type ComponentId } from "../../core/codes.js";
import { HubError } from "../../core/errors.js";
import { normaliseNhsNumber } from "../../core/nhs.js";
import type { Reading } from "../../core/reading.js";
import { type Field, message, segment } from "./encoding.js";
import { abnormalFlag, flagNotes } from "./flags.js";
import { hl7Date, hl7Time, hl7TimeFromIso } from "./time.js";
import { HL7_DEFAULT_UNIT, valueIn } from "./units.js";

export { abnormalFlag } from "./flags.js";

export interface Sender {
  sendingApplication: string;
  /** MSH-4.1: the PKB customer alias, or the "no access" partner organisation's own id. */
  sendingFacility: string;
  processingId: string;
  timeZone: string;
}

export interface Hl7Patient {
  nhsNumber: string;
  firstName: string;
  lastName: string;
  dob: string;
  sex: string;
}

/** SNOMED CT code and unit per component, as agreed with PKB (configurable; defaults from the code table). */
export type SnomedTable = Partial<Record<ComponentId, { code: string; unit: string }>>;

/** How observations are coded: the agreed (code, unit) pairs and the OBX-3.3 coding-system string. */
export interface Coding {
  snomed: SnomedTable;
  /** OBX-3.3: `SCT` by default; PKB's accepted value is confirmed per partner. */
  codingSystem: string;
}

export function snomedFor(id: ComponentId, overrides: SnomedTable): { code: string; unit: string } {
  return overrides[id] ?? { code: CODES[id].snomed, unit: HL7_DEFAULT_UNIT[id] ?? CODES[id].unit };
}

/** MSH-18 (HL7 v2.4 table 0211) of a message with characters beyond ASCII; the SOAP body is UTF-8 too. */
export const UTF8_CHARSET = "UNICODE UTF-8";

function msh(
  s: Sender,
  type: [string, string, string],
  controlId: string,
  nowMs: number,
  charset?: string,
): string {
  return segment("MSH", [
    s.sendingApplication,
    s.sendingFacility,
    "HL7API",
    "PKB",
    hl7Time(nowMs, s.timeZone), // MSH-7 without offset: PKB discourages one here
    undefined,
    type,
    controlId,
    s.processingId,
    "2.4",
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
    charset,
  ]);
}

/**
 * MSH and the segments after it. An empty MSH-18 means ASCII, so a message carrying any other
 * character (a name with é or ł) declares UTF-8, the encoding it travels in; an ASCII message
 * stays as PKB's examples are.
 */
function hl7Message(
  s: Sender,
  type: [string, string, string],
  controlId: string,
  nowMs: number,
  body: string[],
): string {
  const ascii = message([msh(s, type, controlId, nowMs), ...body]);
  if (!/[\u0080-\uffff]/.test(ascii)) return ascii; // nothing beyond ASCII
  return message([msh(s, type, controlId, nowMs, UTF8_CHARSET), ...body]);
}

function pid(p: Hl7Patient): string {
  const nhs = normaliseNhsNumber(p.nhsNumber); // never send an invalid NHS number
  return segment("PID", [
    "1",
    undefined,
    [nhs, undefined, undefined, "NHS", "NH"],
    undefined,
    [p.lastName, p.firstName],
    undefined,
    hl7Date(p.dob),
    p.sex,
  ]);
}

/** QRY^A19: does PKB know this NHS number? `queryId` is QRD-4 (at most 10 characters), echoed in the answer. */
export function buildQryA19(
  s: Sender,
  nhsNumber: string,
  controlId: string,
  nowMs: number,
  queryId: string,
): string {
  const nhs = normaliseNhsNumber(nhsNumber);
  const qrd8: Field = [nhs, "", "", "", "", "", "", "", "", "", "", "", "NH"];
  return hl7Message(s, ["QRY", "A19", "QRY_A19"], controlId, nowMs, [
    segment("QRD", [
      hl7Time(nowMs, s.timeZone),
      "R",
      "I",
      queryId,
      undefined,
      undefined,
      ["1", "RD"],
      qrd8,
      "DEM",
    ]),
  ]);
}

/** ADT^A28: create the record (first name, last name, NHS number, date of birth, sex). */
export function buildAdtA28(s: Sender, p: Hl7Patient, controlId: string, nowMs: number): string {
  return hl7Message(s, ["ADT", "A28", "ADT_A05"], controlId, nowMs, [
    segment("EVN", ["A28", hl7Time(nowMs, s.timeZone)]),
    pid(p),
    // ADT_A05 requires PV1 in v2.4; "N" (not applicable): a record, not a visit.
    segment("PV1", ["1", "N"]),
  ]);
}

/**
 * ORU^R01: the readings of one patient, one OBX per measured value, SNOMED-coded, with OBX-8 and an
 * NTE per flag of the reading (`flags.ts`).
 */
export function buildOruR01(
  s: Sender,
  p: Hl7Patient,
  readings: Reading[],
  reportId: string,
  controlId: string,
  nowMs: number,
  coding: Coding,
): string {
  if (readings.length === 0) throw new HubError("INTERNAL", "an ORU needs at least one reading");
  const first = readings[0] as Reading;
  const observations: string[] = []; // each OBX, then its NTEs
  let setId = 0;
  readings.forEach((r, i) => {
    for (const c of r.components) {
      const code = snomedFor(c.id, coding.snomed);
      observations.push(
        segment("OBX", [
          String(++setId),
          "NM",
          [code.code, CODES[c.id].label, coding.codingSystem],
          // OBX-4 sub-id: the components of one reading share it, so several blood pressures of the
          // same instant in one batch still pair each systolic with its own diastolic.
          String(i + 1),
          valueIn(c, code.unit), // converted to the unit it is sent under, or refused
          [code.unit],
          undefined,
          abnormalFlag(r, c.id),
          undefined,
          undefined,
          "F",
          undefined,
          undefined,
          hl7TimeFromIso(r.measuredAt),
        ]),
        ...flagNotes(r, c.id),
      );
    }
  });
  return hl7Message(s, ["ORU", "R01", "ORU_R01"], controlId, nowMs, [
    pid(p),
    segment("OBR", [
      "1",
      undefined,
      [reportId],
      ["MEASUREMENTS", "Home device measurements"],
      undefined,
      undefined,
      hl7TimeFromIso(first.measuredAt),
    ]),
    ...observations,
  ]);
}

export interface Hl7Document {
  /** TXA-12.1: unique; a resend with the same number replaces the document (idempotent). */
  documentNumber: string;
  /** TXA-2 (PKB code set PKBCS05): CP = care plan, DS or other = document. */
  typeCode: string;
  title: string;
  fileName: string;
  pdfBase64: string;
  createdMs: number;
}

/** MDM^T02: a document (e.g. a PDF summary) as an ED observation. */
export function buildMdmT02(
  s: Sender,
  p: Hl7Patient,
  doc: Hl7Document,
  controlId: string,
  nowMs: number,
): string {
  if (doc.pdfBase64 === "") throw new HubError("DOCUMENT_INVALID", "an MDM^T02 needs document content");
  const when = hl7Time(doc.createdMs, s.timeZone, true);
  return hl7Message(s, ["MDM", "T02", "MDM_T02"], controlId, nowMs, [
    segment("EVN", ["T02", hl7Time(nowMs, s.timeZone)]),
    pid(p),
    segment("PV1", ["1", "N"]),
    segment("TXA", [
      "1",
      doc.typeCode,
      "AP",
      when,
      undefined,
      when,
      when,
      when,
      undefined,
      undefined,
      undefined,
      [doc.documentNumber],
      undefined,
      undefined,
      undefined,
      doc.fileName,
      "AU",
    ]),
    segment("OBX", [
      "1",
      "ED",
      ["DOC", doc.title],
      undefined,
      [undefined, "TEXT", "PDF", "Base64", doc.pdfBase64],
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      "F",
    ]),
  ]);
}
