import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { endpointProblem } from "../../config/url.js";
import { HubError } from "../../core/errors.js";
import { parseRetryAfter } from "../retry-after.js";

export const PKB_NAMESPACE = "http://wsssl.hl7api.patientsknowbest.com/";

/**
 * PKB's SOAP 1.1 envelope: `acceptMessage` with the HL7 message in a CDATA section of `arg0`.
 * UNKNOWN until a sandbox test: an XML parser turns the CR segment separators inside CDATA into LF
 * (XML end-of-line handling); PKB documents CDATA, so it must cope, but this is the place to
 * change (e.g. to `&#13;` in escaped text) if it does not.
 */
export function soapEnvelope(hl7: string): string {
  // "]]>" cannot appear inside CDATA: split it across two sections.
  const cdata = `<![CDATA[${hl7.replace(/]]>/g, "]]]]><![CDATA[>")}]]>`;
  return (
    `<?xml version="1.0" encoding="UTF-8"?>` +
    `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:pkb="${PKB_NAMESPACE}">` +
    `<soap:Body><pkb:acceptMessage><arg0>${cdata}</arg0></pkb:acceptMessage></soap:Body></soap:Envelope>`
  );
}

function xmlText(s: string): string {
  return s
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#13;|&#x[dD];/g, "\r")
    .replace(/&amp;/g, "&");
}

/** "MSH" and the field separator it declares (any character but a letter, digit or whitespace). */
const MSH_START = /MSH[^A-Za-z0-9\s]/;

/**
 * The first HL7 message in a SOAP answer (PKB's response element name is not documented): CDATA
 * sections first, then escaped element text. The message may use other delimiters than `|^~\&`
 * (its MSH declares them), and segments may be separated by CR, LF or CRLF.
 */
export function extractHl7(xml: string): string | undefined {
  const cdata = [...xml.matchAll(/<!\[CDATA\[([\s\S]*?)]]>/g)].map((m) => m[1] ?? "").join("");
  const fromCdata = cdata.search(MSH_START);
  if (fromCdata >= 0) return cdata.slice(fromCdata).trim();
  const text = xmlText(xml.replace(/<[^>]+>/g, "\n"));
  const at = text.search(MSH_START);
  if (at < 0) return undefined;
  const sep = text.charAt(at + 3);
  return text
    .slice(at)
    .split(/\r\n|\r|\n/)
    .map((l) => l.trim())
    .filter((l) => /^[A-Z][A-Z0-9]{2}/.test(l) && l.charAt(3) === sep)
    .join("\r");
}

export interface SoapFault {
  /** faultcode without its prefix: "Client" (the request is at fault) or "Server" (and others). */
  code: string;
  text: string;
}

/** A SOAP 1.1 fault in an answer, if there is one. */
export function soapFault(xml: string): SoapFault | undefined {
  if (!/<(\w+:)?Fault[\s>]/.test(xml)) return undefined;
  const code = /<faultcode[^>]*>([\s\S]*?)<\/faultcode>/.exec(xml)?.[1]?.trim() ?? "";
  const text = xmlText(/<faultstring[^>]*>([\s\S]*?)<\/faultstring>/.exec(xml)?.[1] ?? "SOAP fault").trim();
  return { code: code.replace(/^.*:/, "").split(".")[0] ?? "", text };
}

export interface SoapClientOptions {
  url: string;
  username: string;
  password: string;
  /** Extra CA certificate (PEM) to trust; verification stays on. */
  ca?: string;
  /** Deadline for the whole exchange, from connecting to the last byte of the answer. */
  timeoutMs: number;
  nowMs?: () => number;
}

export type SoapAnswer =
  | { status: number; body: string; retryAfterMs?: number }
  /** No answer. `maybeSent`: the request had left the hub, so PKB may have processed it. */
  | { networkError: string; maybeSent: boolean };

const NOT_SENT = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "CERT_HAS_EXPIRED",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
]);

/** HTTP(S) POST of SOAP envelopes with Basic auth, keep-alive and a deadline. */
export class SoapClient {
  private readonly url: URL;
  private readonly agent: HttpAgent | HttpsAgent;

  constructor(private readonly o: SoapClientOptions) {
    // Checked again here, whatever built the options: nothing leaves in cleartext beyond loopback.
    const problem = endpointProblem(o.url);
    if (problem) throw new HubError("CONFIG_INVALID", `routes.hl7.url ${problem}`);
    this.url = new URL(o.url);
    this.agent =
      this.url.protocol === "https:"
        ? new HttpsAgent({ keepAlive: true, ...(o.ca ? { ca: o.ca } : {}) })
        : new HttpAgent({ keepAlive: true });
  }

  send(hl7: string, signal?: AbortSignal): Promise<SoapAnswer> {
    const body = Buffer.from(soapEnvelope(hl7), "utf8");
    const doRequest = this.url.protocol === "https:" ? httpsRequest : httpRequest;
    const now = this.o.nowMs ?? Date.now;
    return new Promise((resolve) => {
      let sent = false;
      let settled = false;
      const finish = (a: SoapAnswer) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        resolve(a);
      };
      const req = doRequest(
        this.url,
        {
          method: "POST",
          agent: this.agent,
          headers: {
            "content-type": "text/xml; charset=utf-8",
            soapaction: '""',
            "content-length": body.length,
            authorization: `Basic ${Buffer.from(`${this.o.username}:${this.o.password}`).toString("base64")}`,
          },
          ...(signal ? { signal } : {}),
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => {
            text += c;
          });
          res.on("end", () => {
            const after = parseRetryAfter(res.headers["retry-after"], now());
            finish({
              status: res.statusCode ?? 0,
              body: text,
              ...(after !== undefined ? { retryAfterMs: after } : {}),
            });
          });
          res.on("error", () => finish({ networkError: "answer cut off", maybeSent: true }));
        },
      );
      // One deadline for the whole exchange: a server that trickles bytes cannot hold a lease forever.
      const deadline = setTimeout(
        () => req.destroy(new HubError("TIMEOUT", "no answer in time")),
        this.o.timeoutMs,
      );
      req.on("finish", () => {
        sent = true;
      });
      req.on("error", (err: NodeJS.ErrnoException) => {
        const code = err instanceof HubError ? err.code : (err.code ?? err.name);
        finish({ networkError: code || "network error", maybeSent: sent && !NOT_SENT.has(code) });
      });
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
