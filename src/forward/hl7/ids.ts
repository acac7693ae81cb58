import { createHash } from "node:crypto";

/** OBR-3 (EI) is 22 characters long in HL7 v2.4; PKB keeps OBR-3.1 as the report's external id. */
export const REPORT_ID_LENGTH = 22;
/** QRD-4 (query id, ST) is 10 characters long in HL7 v2.4. */
export const QUERY_ID_LENGTH = 10;

/**
 * OBR-3.1 for an ORU: the same for a rebuilt message of the same readings, different for any
 * other. PKB files measurements under it, and a later OBR-25 `R` with the same id deletes them
 * all, so two reports must never share one. It is a digest of every input byte (hub, patient key,
 * first reading's idempotency key, each length-delimited by JSON), never a cut of a longer string:
 * a long patient key cannot push the distinguishing part off the end. 22 base64url characters
 * are 132 bits of SHA-256: fits OBR-3 and uses only characters that need no HL7 escaping.
 */
export function reportId(hubId: string, patientKey: string, firstReadingKey: string): string {
  return createHash("sha256")
    .update(JSON.stringify(["obr-3/v1", hubId, patientKey, firstReadingKey]))
    .digest("base64url")
    .slice(0, REPORT_ID_LENGTH);
}

/**
 * QRD-4 for the n-th query (n ≥ 1, from a counter kept in the buffer): base-36, so distinct
 * numbers give distinct ids by construction, and ten characters last 3.6·10^15 queries.
 */
export function queryId(n: number): string {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError("query number must be a positive integer");
  const id = n.toString(36).toUpperCase();
  if (id.length > QUERY_ID_LENGTH) throw new RangeError("query counter exhausted");
  return id;
}
