import type { StoredDocument } from "../../buffer/outbox.js";
import { HubError } from "../../core/errors.js";

/** Default for `routes.hl7.maxDocumentBytes` (the PDF's own size, before base64). */
export const DEFAULT_MAX_DOCUMENT_BYTES = 10 * 1024 * 1024;

/** A PDF for a patient's record, as a caller hands it over (e.g. a device session summary). */
export interface Hl7DocumentInput {
  /** TXA-12.1: unique; sending the same number again replaces the document at PKB. */
  key: string;
  patient: string;
  kind: string;
  title: string;
  /** TXA-2 (PKB code set PKBCS05): `CP` care plan, `DS` (default) or other: a document. */
  typeCode?: string;
  fileName?: string;
  pdf: Uint8Array;
  createdMs: number;
}

/** What the HL7 route stores for a document (the outbox keeps it as JSON until it is sent). */
export interface Hl7StoredDocument extends StoredDocument {
  title: string;
  typeCode: string;
  fileName: string;
  pdfBase64: string;
  createdMs: number;
}

const PDF_MAGIC = "%PDF-";

function tooLarge(key: string, bytes: number, maxBytes: number): HubError {
  return new HubError(
    "DOCUMENT_TOO_LARGE",
    `document ${key} is ${bytes} bytes; routes.hl7.maxDocumentBytes allows ${maxBytes}`,
  );
}

/**
 * Checks a document and prepares it for the outbox: an empty document (an empty ED at PKB), one
 * that is not a PDF (OBX-5 says PDF) or one over the configured size is refused here, with a clear
 * error, before anything is stored.
 */
export function prepareHl7Document(input: Hl7DocumentInput, maxBytes: number): Hl7StoredDocument {
  if (input.pdf.length === 0) throw new HubError("DOCUMENT_INVALID", `document ${input.key} is empty`);
  if (input.pdf.length > maxBytes) throw tooLarge(input.key, input.pdf.length, maxBytes);
  if (Buffer.from(input.pdf.subarray(0, PDF_MAGIC.length)).toString("latin1") !== PDF_MAGIC)
    throw new HubError("DOCUMENT_INVALID", `document ${input.key} is not a PDF (no %PDF- header)`);
  return {
    key: input.key,
    patient: input.patient,
    kind: input.kind,
    title: input.title,
    typeCode: input.typeCode ?? "DS",
    fileName: input.fileName ?? `${input.key}.pdf`,
    pdfBase64: Buffer.from(input.pdf).toString("base64"),
    createdMs: input.createdMs,
  };
}

/** Stores a checked document for the HL7 route; false when one with this key is already stored. */
export function enqueueHl7Document(
  buffer: { enqueueDocument(doc: StoredDocument, route: string): boolean },
  input: Hl7DocumentInput,
  maxBytes: number,
): boolean {
  return buffer.enqueueDocument(prepareHl7Document(input, maxBytes), "hl7");
}

/**
 * The base64 content of a stored document, checked again when its message is built (the
 * document may predate a smaller limit, or have been stored by other code): canonical base64,
 * not empty, within `maxBytes` once decoded. Base64 has no HL7 delimiter, so it goes unescaped.
 */
export function checkedBase64(key: string, base64: unknown, maxBytes: number): string {
  if (typeof base64 !== "string" || base64 === "")
    throw new HubError("DOCUMENT_INVALID", `document ${key} is empty`);
  if (base64.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(base64))
    throw new HubError("DOCUMENT_INVALID", `document ${key} is not valid base64`);
  const bytes = (base64.length / 4) * 3 - (base64.endsWith("==") ? 2 : base64.endsWith("=") ? 1 : 0);
  if (bytes > maxBytes) throw tooLarge(key, bytes, maxBytes);
  return base64;
}
