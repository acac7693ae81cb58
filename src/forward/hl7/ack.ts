import { HubError } from "../../core/errors.js";
import { ParsedMessage } from "./encoding.js";

export type AckCode = "AA" | "AE" | "AR" | "CA" | "CE" | "CR";
const ACK_CODES: readonly string[] = ["AA", "AE", "AR", "CA", "CE", "CR"];

export interface Ack {
  code: AckCode;
  /** MSA-3: PKB's reason on AR/AE (e.g. "No observation timestamp in OBX or OBR"). */
  text: string;
  /** MSA-2: the MSH-10 this answers. */
  controlId: string;
  /** ERR-3.1 (v2.5) or ERR-1.4.1 (v2.4) of every ERR segment: HL7 table 0357 error codes. */
  errorCodes: string[];
  /** ADR^A19: QRD-4 echoed (the query this lists patients for); "" when absent. */
  queryId: string;
  /** ADR^A19: the identifiers (PID-3.1 of every repetition, digits only for type NH) of each patient returned. */
  patients: string[][];
}

/**
 * Reads PKB's answer (ACK or ADR^A19), with the delimiters its own MSH declares. Harmless variants
 * are read as meant: MSA-1 in any case and with surrounding whitespace (`aa`, `AA `), MSA-2 with
 * surrounding whitespace. A message without MSH or without a valid MSA-1 is a protocol error.
 */
export function parseAck(text: string): Ack {
  const m = new ParsedMessage(text);
  if (m.segments[0]?.name !== "MSH")
    throw new HubError("PROTOCOL", "answer does not start with an MSH segment");
  const code = m.get("MSA", 1).trim().toUpperCase();
  if (!ACK_CODES.includes(code)) throw new HubError("PROTOCOL", "answer has no valid MSA-1");
  const patients = m.all("PID").map((pid) => {
    const ids: string[] = [];
    for (let r = 0; r < m.repetitions(pid, 3); r++) {
      const id = m.value(pid, 3, 1, 1, r);
      ids.push(m.value(pid, 3, 5, 1, r) === "NH" ? id.replace(/\s/g, "") : id);
    }
    return ids;
  });
  return {
    code: code as AckCode,
    text: m.get("MSA", 3),
    controlId: m.get("MSA", 2).trim(),
    queryId: m.get("QRD", 4).trim(),
    errorCodes: m
      .all("ERR")
      .flatMap((e) => [m.value(e, 3, 1), m.value(e, 1, 4)])
      .map((c) => c.trim())
      .filter((c) => c !== ""),
    patients,
  };
}

/**
 * What an ADR^A19 says about the NHS number queried. The query is a national-id search, so any
 * patient listed is taken as PKB knowing this one (never send A28 for a known patient — it would
 * overwrite demographics); `mismatch` flags an answer whose NHS identifiers are all different,
 * which the forwarder logs for investigation (the ORU that follows will tell, by AA or AR).
 */
export function queryResult(ack: Ack, nhsNumber: string): { found: boolean; mismatch: boolean } {
  if (ack.patients.length === 0) return { found: false, mismatch: false };
  const listed = ack.patients.flat().filter((id) => /^\d{10}$/.test(id));
  return { found: true, mismatch: listed.length > 0 && !listed.includes(nhsNumber) };
}

/**
 * UNKNOWN until a sandbox test: how PKB words a refusal because it does not know the patient in
 * PID-3 (the stand-in says "Patient not found"). Kept in this one place. Any AR/AE whose MSA-3
 * says the patient is not found, not known, unknown or does not exist; or whose ERR says HL7 error
 * 204 (unknown key identifier).
 */
const PATIENT_UNKNOWN =
  /\bpatient\b[^.]*\b(?:not (?:found|known|registered|recogni[sz]ed)|unknown|does ?n[o']?t exist|no longer exists)\b|\b(?:unknown|no such) patient\b/i;

export function meansPatientUnknown(ack: Ack): boolean {
  if (ack.code !== "AR" && ack.code !== "AE") return false;
  return PATIENT_UNKNOWN.test(ack.text) || ack.errorCodes.includes("204");
}
