import { CODES } from "../../../src/core/codes.js";
import { isValidNhsNumber } from "../../../src/core/nhs.js";
import { message, segment, unescapeHl7 } from "../../../src/forward/hl7/encoding.js";
import { IndependentHl7 } from "../../../src/forward/hl7/standard.js";
import { type ReportCopy, ReportLedger } from "./reports.js";

/** HL7 DTM: YYYY[MM[DD[HH[MM[SS[.S+]]]]]][+/-ZZZZ] */
const DTM = /^\d{4}(\d{2}(\d{2}(\d{2}(\d{2}(\d{2}(\.\d{1,4})?)?)?)?)?)?([+-]\d{4})?$/;

/**
 * PKB's predefined measurement types as (SNOMED code, unit) pairs: written out here, not taken
 * from the hub's tables, so that a hub default that drifts from PKB's list is caught. Glucose is
 * in mmol/L (UK practice).
 */
const PKB_MEASUREMENT_TYPES: ReadonlyArray<{ code: string; unit: string }> = [
  { code: CODES["bp-systolic"].snomed, unit: "mm[Hg]" },
  { code: CODES["bp-diastolic"].snomed, unit: "mm[Hg]" },
  { code: CODES["bp-mean"].snomed, unit: "mm[Hg]" },
  { code: CODES["pulse-rate"].snomed, unit: "/min" },
  { code: CODES["heart-rate"].snomed, unit: "/min" },
  { code: CODES.spo2.snomed, unit: "%" },
  { code: CODES["body-temperature"].snomed, unit: "Cel" },
  { code: CODES["body-weight"].snomed, unit: "kg" },
  { code: CODES.glucose.snomed, unit: "mmol/L" },
  { code: CODES["respiratory-rate"].snomed, unit: "/min" },
  { code: CODES["peak-flow"].snomed, unit: "L/min" },
];

/** HL7 v2.4 table 0078 (abnormal flags), and empty. */
const ABNORMAL_FLAGS = [
  "",
  "L",
  "H",
  "LL",
  "HH",
  "<",
  ">",
  "N",
  "A",
  "AA",
  "U",
  "D",
  "B",
  "W",
  "S",
  "R",
  "I",
  "MS",
  "VS",
];

/** What PKB's HL7 interface does with a message, as PKB.md describes it. */
export interface RegistryPatient {
  nhsNumber: string;
  firstName: string;
  lastName: string;
  dob: string;
  sex: string;
}

export interface Observation {
  reportId: string;
  /** OBX-4: the observations of one measurement (a systolic and its diastolic) share it. */
  group: string;
  /** OBX-8 as received (HL7 table 0078). */
  abnormal: string;
  code: string;
  unit: string;
  value: number;
  time: string;
  /** Deleted by a later retraction (OBR-25 `R`) of its report id. */
  deleted?: boolean;
}

export class PkbHl7Registry {
  readonly patients = new Map<string, RegistryPatient>();
  /** Every observation received, per NHS number, retracted ones included (flagged `deleted`). */
  readonly observations = new Map<string, Observation[]>();
  /** Accepted ORUs per report id, and the retractions (OBR-25 `R`) that deleted them. */
  readonly reports = new ReportLedger<Observation>();
  readonly documents = new Map<string, { nhsNumber: string; type: string; title: string; bytes: number }>();
  readonly received: Array<{ type: string; controlId: string }> = [];
  /**
   * ORU report ids received more than once (PKB does not de-duplicate). A copy later retracted
   * (OBR-25 `R`) is no longer in the record: `liveCopies` counts what the patient sees.
   */
  duplicateReports = 0;
  /** MSH-10 values seen more than once (a re-send; PKB would process it again). */
  duplicateControlIds = 0;
  private readonly reportIds = new Set<string>();
  private readonly controlIds = new Set<string>();
  /** SNOMED code | unit pairs PKB recognises as measurements (agreed per partner). */
  readonly allowedPairs: Set<string>;

  constructor(
    readonly facilities: string[],
    extraPairs: Array<{ code: string; unit: string }> = [],
    /** OBX-3.3 this PKB accepts for SNOMED CT (confirmed per partner). */
    public codingSystem = "SCT",
  ) {
    this.allowedPairs = new Set([...PKB_MEASUREMENT_TYPES, ...extraPairs].map((p) => `${p.code}|${p.unit}`));
  }

  /** Handles one message; returns the answer (ACK or ADR^A19) as HL7 text. */
  handle(text: string): string {
    let m: IndependentHl7;
    try {
      m = new IndependentHl7(text);
    } catch {
      return this.ack("AE", "", "Message could not be parsed", "ACK");
    }
    const type = m.get("MSH.9.1");
    const trigger = m.get("MSH.9.2");
    const controlId = m.get("MSH.10");
    if (!type || !controlId || !/^\d{8,14}/.test(m.get("MSH.7")))
      return this.ack("AE", controlId, "MSH-7, MSH-9 and MSH-10 are required", "ACK");
    if (!/\r[A-Z][A-Z0-9]{2}\|/.test(text) || /\n/.test(text))
      return this.ack("AE", controlId, "Segments must be separated by CR", trigger);
    // Empty MSH-18 means ASCII: any other character must come with the character set it is in.
    const charset = m.get("MSH.18");
    if (charset !== "" && charset !== "UNICODE UTF-8")
      return this.ack("AR", controlId, `MSH-18 character set ${charset} is not supported`, trigger);
    if (charset === "" && /[\u0080-\uffff]/.test(text))
      return this.ack("AR", controlId, "Characters beyond ASCII without a character set in MSH-18", trigger);
    this.received.push({ type: `${type}^${trigger}`, controlId });
    if (this.controlIds.has(controlId)) this.duplicateControlIds++;
    this.controlIds.add(controlId);
    if (!this.facilities.includes(m.get("MSH.4.1") || m.get("MSH.4"))) {
      return this.ack("AR", controlId, "Sending facility is not a known organisation or alias", trigger);
    }
    switch (`${type}^${trigger}`) {
      case "QRY^A19":
        return this.query(m, controlId);
      case "ADT^A28":
        return this.create(m, controlId);
      case "ORU^R01":
        return this.observe(m, controlId);
      case "MDM^T02":
        return this.document(m, controlId);
      default:
        return this.ack("AR", controlId, `Unsupported message type ${type}^${trigger}`, trigger);
    }
  }

  /** PKB's own MSH on an answer. */
  private msh(type: string[], controlId: string): string {
    return segment("MSH", [
      "PKB",
      "PKB",
      "PKBHUB",
      "",
      "20260101000000",
      undefined,
      type,
      `${type[0]}${controlId}`.slice(0, 20),
      "P",
      "2.4",
    ]);
  }

  private ack(code: string, controlId: string, text: string, trigger: string, extra: string[] = []): string {
    return message([
      this.msh(["ACK", trigger], controlId),
      segment("MSA", [code, controlId, text]),
      ...extra,
    ]);
  }

  private query(m: IndependentHl7, controlId: string): string {
    const nhs = m.get("QRD.8.1");
    if (m.get("QRD.4").length === 0 || m.get("QRD.4").length > 10)
      return this.ack("AR", controlId, "QRD-4 query id must be 1-10 characters", "A19");
    if (m.get("QRD.8.13") !== "NH" || m.get("QRD.9") !== "DEM")
      return this.ack("AR", controlId, "QRD-8.13 must be NH and QRD-9 DEM", "A19");
    if (!isValidNhsNumber(nhs)) return this.ack("AR", controlId, "Invalid NHS number", "A19");
    const p = this.patients.get(nhs);
    const pid = p
      ? [
          segment("PID", [
            "1",
            undefined,
            [p.nhsNumber, undefined, undefined, "NHS", "NH"],
            undefined,
            [p.lastName, p.firstName],
            undefined,
            p.dob.replace(/-/g, ""),
          ]),
        ]
      : [];
    return message([
      this.msh(["ADR", "A19", "ADR_A19"], controlId),
      segment("MSA", ["AA", controlId]),
      segment("QRD", [m.get("QRD.1"), "R", "I", m.get("QRD.4")]),
      ...pid,
    ]);
  }

  private create(m: IndependentHl7, controlId: string): string {
    const nhs = m.get("PID.3.1");
    if (!isValidNhsNumber(nhs) || m.get("PID.3.5") !== "NH")
      return this.ack("AR", controlId, "PID-3 must carry a valid NHS number of type NH", "A28");
    // hl7-standard hands values over still escaped.
    const patient = {
      nhsNumber: nhs,
      lastName: unescapeHl7(m.get("PID.5.1")),
      firstName: unescapeHl7(m.get("PID.5.2")),
      dob: m.get("PID.7"),
      sex: m.get("PID.8"),
    };
    if (!patient.lastName || !patient.firstName || !/^\d{8}$/.test(patient.dob) || !patient.sex) {
      return this.ack("AR", controlId, "First name, last name, date of birth and sex are required", "A28");
    }
    this.patients.set(nhs, {
      ...patient,
      dob: `${patient.dob.slice(0, 4)}-${patient.dob.slice(4, 6)}-${patient.dob.slice(6, 8)}`,
    });
    return this.ack("AA", controlId, "", "A28");
  }

  private observe(m: IndependentHl7, controlId: string): string {
    const nhs = m.get("PID.3.1");
    if (!isValidNhsNumber(nhs) || m.get("PID.3.5") !== "NH")
      return this.ack("AR", controlId, "Invalid NHS number", "R01");
    if (!this.patients.has(nhs)) return this.ack("AR", controlId, "Patient not found", "R01");
    const obx = m.segments("OBX");
    const reportId = m.get("OBR.3.1") || m.get("OBR.3");
    if (reportId.length > 22) return this.ack("AR", controlId, "OBR-3 is longer than 22 characters", "R01");
    if (m.get("OBR.25") === "R") return this.retract(nhs, reportId, controlId);
    if (obx.length > 1 && !reportId)
      return this.ack("AR", controlId, "OBR-3 is required for several measurements", "R01");
    const obrTime = m.get("OBR.7");
    const seen = new Set<string>();
    const accepted: Observation[] = [];
    if (obx.length === 0) return this.ack("AR", controlId, "No OBX segment", "R01");
    for (const o of obx) {
      const time = o.get("OBX.14") || obrTime;
      if (!time) return this.ack("AR", controlId, "No observation timestamp in OBX or OBR", "R01");
      if (!DTM.test(time))
        return this.ack("AR", controlId, "Observation timestamp is not an HL7 date/time", "R01");
      if (o.get("OBX.2") !== "NM")
        return this.ack("AR", controlId, "OBX-2 must be NM for a measurement", "R01");
      const code = o.get("OBX.3.1");
      // PKB: the unit is OBX-6.2 when present, else OBX-6.1.
      const unit = o.get("OBX.6.2") || o.get("OBX.6.1") || o.get("OBX.6");
      if (o.get("OBX.3.3") !== this.codingSystem || !this.allowedPairs.has(`${code}|${unit}`)) {
        return this.ack("AR", controlId, `Unknown measurement: SNOMED ${code} with unit ${unit}`, "R01");
      }
      const value = Number(o.get("OBX.5"));
      if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(o.get("OBX.5")) || !Number.isFinite(value))
        return this.ack("AR", controlId, "OBX-5 must be an HL7 NM number", "R01");
      const group = o.get("OBX.4");
      // Two values of one type in one group cannot be paired with the rest of their measurement.
      if (seen.has(`${code}|${group}|${time}`))
        return this.ack("AR", controlId, `Several ${code} at ${time} without distinct OBX-4 sub-ids`, "R01");
      seen.add(`${code}|${group}|${time}`);
      const abnormal = o.get("OBX.8");
      if (!ABNORMAL_FLAGS.includes(abnormal))
        return this.ack("AR", controlId, `OBX-8 ${abnormal} is not in HL7 table 0078`, "R01");
      accepted.push({ reportId, group, abnormal, code, unit, value, time });
    }
    if (this.reportIds.has(reportId)) this.duplicateReports++;
    this.reportIds.add(reportId);
    this.observations.set(nhs, [...(this.observations.get(nhs) ?? []), ...accepted]);
    this.reports.add({ nhsNumber: nhs, reportId, controlId, measurements: accepted });
    return this.ack("AA", controlId, "", "R01");
  }

  /**
   * OBR-25 `R`: every measurement previously received under the report id is marked deleted; the
   * message's OBX (if any) are ignored. Answered AA even when nothing was live under it.
   */
  private retract(nhs: string, reportId: string, controlId: string): string {
    if (!reportId) return this.ack("AR", controlId, "OBR-3 is required to retract a report", "R01");
    this.reports.retract(nhs, reportId, controlId);
    return this.ack("AA", controlId, "", "R01");
  }

  private document(m: IndependentHl7, controlId: string): string {
    const nhs = m.get("PID.3.1");
    if (!this.patients.has(nhs)) return this.ack("AR", controlId, "Patient not found", "T02");
    const number = m.get("TXA.12.1") || m.get("TXA.12");
    if (!number) return this.ack("AR", controlId, "TXA-12 unique document number is required", "T02");
    if (m.get("OBX.2") !== "ED")
      return this.ack("AR", controlId, "Document content must be an ED observation", "T02");
    const content = m.get("OBX.5.5");
    if (content === "") return this.ack("AR", controlId, "Document content is empty", "T02");
    const pdf = Buffer.from(content, "base64");
    if (pdf.toString("base64") !== content || pdf.subarray(0, 5).toString("latin1") !== "%PDF-")
      return this.ack("AR", controlId, "Document content is not a base64 PDF", "T02");
    this.documents.set(number, {
      nhsNumber: nhs,
      type: m.get("TXA.2"),
      title: unescapeHl7(m.get("OBX.3.2")),
      bytes: pdf.length,
    });
    return this.ack("AA", controlId, "", "T02");
  }

  /** The patient's live observations (retracted ones left out). */
  observationsFor(nhs: string): Observation[] {
    return (this.observations.get(nhs) ?? []).filter((o) => !o.deleted);
  }

  /** Live copies of the report in the record: 1 when delivered exactly once. */
  liveCopies(reportId: string): number {
    return this.reports.liveCopies(reportId);
  }

  /** Every live ORU (one per accepted ORU^R01 not retracted since), in the order received. */
  liveOrus(): Array<ReportCopy<Observation>> {
    return this.reports.live();
  }
}
