import { PKB_NAMESPACE } from "../../../src/forward/hl7/soap.js";

/** A SOAP answer as the stand-in sends it: PKB's ACK in a CDATA section of `return`. */
export function soapAnswer(hl7: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">` +
    `<soap:Body><ns2:acceptMessageResponse xmlns:ns2="${PKB_NAMESPACE}"><return><![CDATA[${hl7}]]></return>` +
    `</ns2:acceptMessageResponse></soap:Body></soap:Envelope>`
  );
}

/**
 * Ways a 2xx answer can differ from the plain ACK, for the hub's tests. Harmless ones mean the
 * same ACK; the others cannot be read as an acknowledgement of the message sent.
 */
export const HARMLESS_ACK_VARIANTS = [
  "lower-case",
  "trailing-space",
  "leading-space",
  "other-delimiters",
  "lf-separators",
  "crlf-separators",
  "msa2-upper-case",
  "msa2-whitespace",
  "escaped-text",
] as const;
export const UNREADABLE_ACK_VARIANTS = [
  "no-msa",
  "no-msh",
  "other-control-id",
  "empty-msa2",
  "unknown-code",
  "html-page",
  "empty-body",
  "soap-fault",
] as const;
export type AckVariant = (typeof HARMLESS_ACK_VARIANTS)[number] | (typeof UNREADABLE_ACK_VARIANTS)[number];

/** The delimiters of `other-delimiters`: field #, component *, repetition ~, escape \, subcomponent @. */
function otherDelimiters(hl7: string): string {
  return hl7
    .replace(/^MSH\|\^~\\&\|/, "MSH#*~\\@#")
    .split("\r")
    .map((seg, i) => (i === 0 ? seg.slice(0, 9) + swap(seg.slice(9)) : swap(seg)))
    .join("\r");
}

function swap(seg: string): string {
  return seg.replace(/[|^&]/g, (c) => ({ "|": "#", "^": "*", "&": "@" })[c] ?? c);
}

function xmlEscape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/\r/g, "&#13;");
}

/** The SOAP body answering `hl7` (the stand-in's ACK) in the given variant. */
export function ackVariantBody(hl7: string, variant: AckVariant): string {
  const msa = (edit: (fields: string[]) => string[]) =>
    hl7.replace(
      /(^|\r)MSA\|([^\r]*)/,
      (_m, lead: string, rest: string) => `${lead}MSA|${edit(rest.split("|")).join("|")}`,
    );
  switch (variant) {
    case "lower-case":
      return soapAnswer(msa(([code = "", ...rest]) => [code.toLowerCase(), ...rest]));
    case "trailing-space":
      return soapAnswer(msa(([code = "", ...rest]) => [`${code} `, ...rest]));
    case "leading-space":
      return soapAnswer(msa(([code = "", ...rest]) => [` ${code}`, ...rest]));
    case "other-delimiters":
      return soapAnswer(otherDelimiters(hl7));
    case "lf-separators":
      return soapAnswer(hl7.replace(/\r/g, "\n"));
    case "crlf-separators":
      return soapAnswer(hl7.replace(/\r/g, "\r\n"));
    case "msa2-upper-case":
      return soapAnswer(msa(([code = "", id = "", ...rest]) => [code, id.toUpperCase(), ...rest]));
    case "msa2-whitespace":
      return soapAnswer(msa(([code = "", id = "", ...rest]) => [code, ` ${id} `, ...rest]));
    case "escaped-text":
      return soapAnswer("").replace("<![CDATA[]]>", xmlEscape(hl7));
    case "no-msa":
      return soapAnswer(hl7.replace(/\rMSA\|[^\r]*/, ""));
    case "no-msh":
      return soapAnswer(hl7.replace(/^MSH\|[^\r]*\r/, ""));
    case "other-control-id":
      return soapAnswer(msa(([code = "", , ...rest]) => [code, "0123456789abcdef0123", ...rest]));
    case "empty-msa2":
      return soapAnswer(msa(([code = "", , ...rest]) => [code, "", ...rest]));
    case "unknown-code":
      return soapAnswer(msa(([, ...rest]) => ["OK", ...rest]));
    case "html-page":
      return "<!DOCTYPE html><html><body><h1>Welcome</h1><p>Your session has expired.</p></body></html>";
    case "empty-body":
      return "";
    case "soap-fault":
      return (
        '<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>' +
        "<soap:Fault><faultcode>soap:Server</faultcode><faultstring>Internal error</faultstring></soap:Fault></soap:Body></soap:Envelope>"
      );
  }
}
