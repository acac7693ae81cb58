import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import {
  createServer as createHttp,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createHttps } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isLoopbackHost } from "../../../src/config/url.js";
import { type AckVariant, ackVariantBody, soapAnswer } from "./ack-variants.js";
import { Hl7Chaos } from "./faults.js";
import { PkbHl7Registry, type RegistryPatient } from "./pkb-hl7.js";

export type Hl7Fault =
  /** Answers normally (to aim a later fault at a later message). */
  | { kind: "none" }
  /** `retryAfter`: the Retry-After header exactly as given (seconds, a date, or nonsense). */
  | { kind: "status"; status: number; retryAfter?: number | string }
  /** A SOAP fault (HTTP 500) before processing: "Server" by default, "Client" for a request PKB cannot read. */
  | { kind: "soap-fault"; code?: "Server" | "Client" }
  | { kind: "hang" }
  /** Processes the message, then never answers: the sender cannot know it arrived. */
  | { kind: "accept-then-hang" }
  | { kind: "ack"; code: "AR" | "AE"; text: string }
  /** Processes the message, then answers 200 with the ACK in one of the variants. */
  | { kind: "ack-variant"; variant: AckVariant }
  /** Processes the message, then answers with `edit` applied to the HL7 answer (or to the whole SOAP body with `soap`). */
  | { kind: "rewrite"; edit: (answer: string) => string; soap?: boolean };

export interface Hl7StandinOptions {
  username?: string;
  password?: string;
  /** MSH-4.1 values PKB accepts: customer aliases and no-access partner organisations. */
  facilities?: string[];
  /** Every received HL7 message is written here as its own file (raw HL7, CR between segments). */
  captureDir?: string;
  /** Patients PKB already holds. */
  knownPatients?: RegistryPatient[];
  /** SNOMED code/unit pairs agreed on top of the defaults. */
  extraPairs?: Array<{ code: string; unit: string }>;
  /** OBX-3.3 accepted for SNOMED CT (default SCT). */
  codingSystem?: string;
  /**
   * Refuse (403, nothing read or processed) a plain-HTTP request whose Host is not a loopback
   * name: PKB speaks only HTTPS, and the stand-in's own HTTP listener stays usable for loopback tests.
   */
  refuseCleartextBeyondLoopback?: boolean;
}

export interface Hl7Standin {
  url: string;
  httpsUrl: string;
  /** PEM of the HTTPS server's self-signed certificate, to trust it explicitly. */
  caFile: string;
  registry: PkbHl7Registry;
  /** Faults for the next requests, in order (one per request). */
  injectFaults(...f: Hl7Fault[]): void;
  /** Faults at a rate, for requests with none queued (chaos runs). */
  chaos: Hl7Chaos;
  /** Delay before each request is processed (a sender whose deadline is shorter gives up while PKB still stores it). */
  setLatencyMs(ms: number): void;
  /** Requests that reached the endpoint (authenticated or not). */
  requests(): number;
  /** Plain-HTTP requests refused because their Host was not loopback (with refuseCleartextBeyondLoopback). */
  cleartextRefused(): number;
  /** Files written to captureDir, in order. */
  captured(): string[];
  stop(): Promise<void>;
}

function soapFaultXml(code: "Server" | "Client", text: string): string {
  return (
    '<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault>' +
    `<faultcode>soap:${code}</faultcode><faultstring>${text}</faultstring></soap:Fault></soap:Body></soap:Envelope>`
  );
}

/** What GET /inspect shows (stand-in data is fake, so values may be shown). */
function inspect(r: PkbHl7Registry) {
  return {
    received: r.received,
    patients: [...r.patients.keys()],
    observations: Object.fromEntries(
      [...r.observations.keys()].map((nhs) => [nhs, r.observationsFor(nhs).length]),
    ),
    liveOrus: r
      .liveOrus()
      .map((c) => ({ reportId: c.reportId, controlId: c.controlId, measurements: c.measurements.length })),
    retractions: r.reports.retractions,
    documents: [...r.documents.keys()],
    duplicateReports: r.duplicateReports,
    duplicateControlIds: r.duplicateControlIds,
  };
}

/**
 * A SOAP request body as text. Only UTF-8 is accepted, and it must be declared as such wherever
 * it is declared (Content-Type charset, XML declaration) and be valid UTF-8: a body in Latin-1, or
 * labelled one way and encoded another, would store a different name than the one sent.
 */
export function decodeSoapBody(
  raw: Buffer,
  contentType: string | undefined,
): { body: string } | { problem: string } {
  const charset = /charset=("?)([^";\s]+)\1/i.exec(contentType ?? "")?.[2];
  if (charset !== undefined && charset.toLowerCase() !== "utf-8")
    return { problem: `Content-Type charset ${charset} is not supported: send UTF-8` };
  let body: string;
  try {
    body = new TextDecoder("utf-8", { fatal: true }).decode(raw);
  } catch {
    return { problem: "The request body is not valid UTF-8" };
  }
  const declared = /^<\?xml[^>]*encoding=["']([^"']+)["']/.exec(body)?.[1];
  if (declared !== undefined && declared.toLowerCase() !== "utf-8")
    return { problem: `XML encoding ${declared} is not supported: send UTF-8` };
  return { body };
}

/** The HL7 message inside PKB's SOAP request (CDATA of arg0, possibly split around "]]>"). */
export function hl7FromSoap(xml: string): string | undefined {
  const arg = /<arg0>([\s\S]*?)<\/arg0>/.exec(xml)?.[1];
  if (arg === undefined) return undefined;
  return [...arg.matchAll(/<!\[CDATA\[([\s\S]*?)]]>/g)].map((m) => m[1] ?? "").join("");
}

/** The host name of a Host header ("" when there is none or it cannot be read). */
function hostOf(header: string | undefined): string {
  try {
    return new URL(`http://${header ?? ""}`).hostname;
  } catch {
    return "";
  }
}

/** PKB's HL7 SOAP endpoint stand-in, over HTTP and HTTPS, with Basic auth, faults and message capture. */
export async function startHl7Standin(o: Hl7StandinOptions = {}): Promise<Hl7Standin> {
  const registry = new PkbHl7Registry(
    o.facilities ?? ["DEMOALIAS", "PARTNERORG"],
    o.extraPairs ?? [],
    o.codingSystem ?? "SCT",
  );
  for (const p of o.knownPatients ?? []) registry.patients.set(p.nhsNumber, p);
  const expected = `Basic ${Buffer.from(`${o.username ?? "partner"}:${o.password ?? "partner-password"}`).toString("base64")}`;
  const faults: Hl7Fault[] = [];
  const chaos = new Hl7Chaos();
  const sockets = new Set<Socket>();
  let latencyMs = 0;
  let requests = 0;
  const captured: string[] = [];
  if (o.captureDir) mkdirSync(o.captureDir, { recursive: true });

  let cleartextRefused = 0;
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const tls = (req.socket as { encrypted?: boolean }).encrypted === true;
    const host = hostOf(req.headers.host);
    if (o.refuseCleartextBeyondLoopback && !tls && !isLoopbackHost(host)) {
      cleartextRefused++;
      res.writeHead(403, { connection: "close" }).end("HTTPS is required");
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => {
      chunks.push(c);
    });
    req.on("end", async () => {
      // The body is read as the request declares it: UTF-8 (header and XML declaration), strictly.
      const decoded = decodeSoapBody(Buffer.concat(chunks), req.headers["content-type"]);
      requests++;
      if (req.method === "GET" && req.url === "/inspect") {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(inspect(registry)));
        return;
      }
      if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));
      if (req.headers.authorization !== expected) {
        res.writeHead(401, { "www-authenticate": 'Basic realm="hl7"' }).end();
        return;
      }
      if ("problem" in decoded) {
        res.writeHead(500, { "content-type": "text/xml" }).end(soapFaultXml("Client", decoded.problem));
        return;
      }
      const hl7 = hl7FromSoap(decoded.body);
      if (hl7 === undefined) {
        res
          .writeHead(500, { "content-type": "text/xml" })
          .end(soapFaultXml("Client", "No acceptMessage/arg0"));
        return;
      }
      if (o.captureDir) {
        const type = /^MSH\|[^|]*\|(?:[^|]*\|){6}([A-Z]{3})\^?([A-Z0-9]{0,3})/.exec(hl7);
        const name = `${String(captured.length + 1).padStart(4, "0")}-${type?.[1] ?? "UNKNOWN"}-${type?.[2] ?? ""}.hl7`;
        writeFileSync(join(o.captureDir, name), hl7);
        captured.push(name);
      }
      const fault = faults.shift();
      if (!fault && chaos.intercept(hl7, res, () => registry.handle(hl7))) return;
      if (fault?.kind === "hang") return;
      if (fault?.kind === "status") {
        const headers = fault.retryAfter !== undefined ? { "retry-after": String(fault.retryAfter) } : {};
        return void res.writeHead(fault.status, headers).end("error");
      }
      if (fault?.kind === "soap-fault")
        return void res
          .writeHead(500, { "content-type": "text/xml" })
          .end(soapFaultXml(fault.code ?? "Server", "Internal processing error"));
      let answer = registry.handle(hl7);
      if (fault?.kind === "accept-then-hang") return;
      if (fault?.kind === "ack")
        answer = answer.replace(/MSA\|AA\|([^|\r]*)/, `MSA|${fault.code}|$1|${fault.text}`);
      if (fault?.kind === "rewrite" && !fault.soap) answer = fault.edit(answer);
      const wire = fault?.kind === "ack-variant" ? ackVariantBody(answer, fault.variant) : soapAnswer(answer);
      res
        .writeHead(200, { "content-type": "text/xml; charset=utf-8" })
        .end(fault?.kind === "rewrite" && fault.soap ? fault.edit(wire) : wire);
    });
  };

  const certDir = mkdtempSync(join(tmpdir(), "pkb-hl7-cert-"));
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      join(certDir, "key.pem"),
      "-out",
      join(certDir, "cert.pem"),
      "-days",
      "2",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
    ],
    { stdio: "ignore" },
  );
  const http: Server = createHttp(handler);
  const https: Server = createHttps(
    { key: readFileSync(join(certDir, "key.pem")), cert: readFileSync(join(certDir, "cert.pem")) },
    handler,
  );
  for (const s of [http, https]) {
    s.on("connection", (sock: Socket) => {
      sockets.add(sock);
      sock.on("close", () => sockets.delete(sock));
    });
    await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  }
  const port = (s: Server) => (s.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port(http)}/services/hl7`,
    httpsUrl: `https://127.0.0.1:${port(https)}/services/hl7`,
    caFile: join(certDir, "cert.pem"),
    registry,
    injectFaults: (...f) => faults.push(...f),
    chaos,
    setLatencyMs: (ms) => {
      latencyMs = ms;
    },
    requests: () => requests,
    cleartextRefused: () => cleartextRefused,
    captured: () => [...captured],
    async stop() {
      for (const s of sockets) s.destroy();
      await Promise.all([http, https].map((s) => new Promise<void>((r) => s.close(() => r()))));
      rmSync(certDir, { recursive: true, force: true });
    },
  };
}
