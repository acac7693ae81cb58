import { isIP } from "node:net";
import { z } from "zod";
import { COMPONENT_IDS, type ComponentId } from "../core/codes.js";
import { DEFAULT_MAX_DOCUMENT_BYTES } from "../forward/hl7/document.js";
import { unitProblem } from "../forward/hl7/units.js";
import { endpointProblem, isLoopbackHost } from "./url.js";

/**
 * Route settings. Each route's section lives here so the forwarders own their own knobs; every
 * base URL is configuration (sandbox and production differ).
 */
export const pkbRestRouteSchema = z
  .strictObject({
    baseUrl: z.url().describe("PKB base URL, e.g. https://sandbox.patientsknowbest.com"),
    issuer: z.string().min(1).optional().describe("OAuth issuer identifier; defaults to baseUrl"),
    authorizationPath: z.string().default("/apiAuthorize.action"),
    tokenPath: z.string().default("/apiToken.action"),
    revocationPath: z.string().optional(),
    deviceAuthorizationPath: z.string().optional().describe("Only if the server supports the device grant"),
    clientId: z.string().min(1),
    clientSecretFile: z.string().min(1).describe("File (0600) holding the OAuth client secret"),
    redirectUri: z.url().default("http://127.0.0.1:8765/callback"),
    scope: z.string().default("PATIENT"),
    requestTimeoutMs: z.number().int().positive().default(15000),
    onAmbiguous: z
      .enum(["reconcile", "hold", "resend"])
      .default("reconcile")
      .describe(
        "A measurement that may have reached PKB without a readable answer (timeout, reset, unreadable 2xx): " +
          "reconcile = read the patient's measurements back and send again only if it is not there (exactly once); " +
          "hold = wait for a person (outbox resolve); resend = send again (at least once: PKB may store it twice)",
      ),
    reconcileAfterSec: z
      .number()
      .int()
      .min(0)
      .max(86_400)
      .default(60)
      .describe(
        "With onAmbiguous reconcile: how long after a POST without a readable answer the patient's measurements are read back. " +
          "A request that timed out (or was cut off by a crash: then counted from the restart) may still be stored by PKB a " +
          "little later; reading back too soon misses it and sends the measurement twice. Other readings are not held up meanwhile",
      ),
    concurrency: z.number().int().min(1).max(32).default(2).describe("Measurements posted at once"),
    refreshAheadSec: z
      .number()
      .int()
      .min(0)
      .default(120)
      .describe("Refresh the access token this long before it expires (PKB: 600-1800 s lifetimes)"),
  })
  .superRefine((route, ctx) => {
    for (const p of pkbRestUrlProblems(route))
      ctx.addIssue({ code: "custom", path: [p.field], message: p.message });
  })
  .describe("PKB REST route: measurements posted with the patient's own OAuth tokens");

type PkbRestUrls = Pick<
  z.output<typeof pkbRestRouteSchema>,
  | "baseUrl"
  | "issuer"
  | "authorizationPath"
  | "tokenPath"
  | "revocationPath"
  | "deviceAuthorizationPath"
  | "redirectUri"
>;

/**
 * Where the REST route would send the patient's bearer token, the client secret, the authorization
 * code or the patient's PKB login, and why it must not. Paths are resolved against baseUrl (an
 * absolute URL in a path field would otherwise slip past the baseUrl check). Used by `config check`
 * (through the schema) and again when the route starts or a patient is linked.
 */
export function pkbRestUrlProblems(route: PkbRestUrls): Array<{ field: string; message: string }> {
  const problems: Array<{ field: string; message: string }> = [];
  const base = endpointProblem(route.baseUrl);
  if (base) problems.push({ field: "baseUrl", message: base });
  if (route.issuer !== undefined) {
    const issuer = endpointProblem(route.issuer);
    if (issuer) problems.push({ field: "issuer", message: issuer });
  }
  if (!base) {
    const paths = {
      authorizationPath: route.authorizationPath,
      tokenPath: route.tokenPath,
      revocationPath: route.revocationPath,
      deviceAuthorizationPath: route.deviceAuthorizationPath,
    };
    for (const [field, path] of Object.entries(paths)) {
      if (path === undefined) continue;
      let resolved: string;
      try {
        resolved = new URL(path, route.baseUrl).href;
      } catch {
        problems.push({ field, message: "is not a valid path or URL" });
        continue;
      }
      const problem = endpointProblem(resolved);
      if (problem) problems.push({ field, message: problem });
    }
  }
  const redirect = redirectUriProblem(route.redirectUri);
  if (redirect) problems.push({ field: "redirectUri", message: redirect });
  return problems;
}

/**
 * The redirect URI carries the authorization code: https, or http only to a loopback address
 * (the hub's own callback page), or a private-use scheme in reverse-domain form (RFC 8252 7.1).
 */
export function redirectUriProblem(uri: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(uri);
  } catch {
    return "is not a valid URL";
  }
  if (parsed.protocol === "https:" || parsed.protocol === "http:") return endpointProblem(uri);
  return /^[a-z][a-z0-9+-]*(\.[a-z0-9+-]+)+:$/i.test(parsed.protocol)
    ? undefined
    : `uses the scheme ${parsed.protocol} : only https://, http:// to loopback or a reverse-domain private-use scheme is allowed`;
}

/**
 * In loopback mode the hub listens on the redirect URI itself: only a loopback IP literal, so the
 * callback page (which receives the authorization code) is never reachable from the network.
 */
export function loopbackRedirectProblem(uri: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(uri);
  } catch {
    return "is not a valid URL";
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, "");
  if (parsed.protocol !== "http:" || isIP(host) === 0 || !isLoopbackHost(host)) {
    return `must be http:// to a loopback IP literal (127.0.0.1 or [::1]) in loopback mode, not ${parsed.protocol}//${parsed.host}`;
  }
  return undefined;
}

/**
 * MSH-3.1/MSH-4.1 as PKB matches them (MSH-4.1 against its list of aliases, exactly): a visible
 * value without HL7 delimiters (escaped, it would no longer match), spaces at either end or
 * control characters.
 */
const mshIdentifier = z
  .string()
  .refine((v) => v.trim() !== "", "must not be blank")
  .refine((v) => !/[|^~\\&]/.test(v), "must not contain an HL7 delimiter (| ^ ~ \\ &)")
  .refine((v) => v === v.trim(), "must not start or end with spaces")
  .refine((v) => !/\p{Cc}/u.test(v), "must not contain control characters");

export const hl7RouteSchema = z
  .strictObject({
    url: z
      .string()
      .superRefine((url, ctx) => {
        // Partner credentials and full demographics go with every request: https, or http to loopback.
        const problem = endpointProblem(url);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      })
      .describe(
        "PKB HL7 SOAP endpoint, e.g. https://sandbox.patientsknowbest.com:7443/services/hl7 (https only; http only to loopback)",
      ),
    username: z
      .string()
      .refine((v) => v.trim() !== "", "must not be blank")
      .refine((v) => !/[:\p{Cc}]/u.test(v), "must not contain ':' or control characters (HTTP Basic)"),
    passwordFile: z.string().min(1).describe("File (0600) holding the partner password"),
    sendingApplication: mshIdentifier.default("PKBHUB").describe("MSH-3.1"),
    sendingFacility: mshIdentifier.describe(
      "MSH-4.1: the PKB-provided customer alias (sending on a customer's behalf), or the 'no access' partner organisation's own id",
    ),
    processingId: z.enum(["P", "T", "D"]).default("P"),
    maxObservationsPerMessage: z.number().int().min(1).max(500).default(50),
    requestTimeoutMs: z.number().int().positive().default(30000),
    caFile: z.string().optional(),
    snomed: z
      // Keyed by component id, so a typo is a config error rather than a silently unused row.
      .partialRecord(
        z.enum(COMPONENT_IDS),
        z.strictObject({ code: z.string().min(1), unit: z.string().min(1) }),
      )
      .superRefine((table, ctx) => {
        // A unit the hub cannot convert to would carry a number in another unit: refused here.
        for (const [id, row] of Object.entries(table)) {
          const problem = row && unitProblem(id as ComponentId, row.unit);
          if (problem) ctx.addIssue({ code: "custom", path: [id, "unit"], message: problem });
        }
      })
      .default({})
      .describe(
        "Per component id: the SNOMED code and unit agreed with PKB (overrides the defaults; glucose defaults to mmol/L). The unit may be UCUM or an accepted spelling (mmHg, mmol/l, bpm, lb, ...); the value is converted to it",
      ),
    maxDocumentBytes: z
      .number()
      .int()
      .min(1)
      .max(100 * 1024 * 1024)
      .default(DEFAULT_MAX_DOCUMENT_BYTES)
      .describe("Largest PDF (in bytes, before base64) sent as an MDM^T02 document; larger ones are refused"),
    codingSystem: z
      .string()
      .regex(/^[^\s|^~\\&]{1,20}$/, "1-20 characters, no spaces or HL7 delimiters")
      .default("SCT")
      .describe("OBX-3.3 coding-system string for SNOMED CT, as agreed with PKB"),
    onAmbiguous: z
      .enum(["retract", "hold", "resend"])
      .default("retract")
      .describe(
        "An ORU^R01 that may have reached PKB without a readable answer (timeout after sending, reset, 5xx, unreadable ACK, SOAP fault in a 2xx): " +
          "retract = send PKB's retraction of its report id (OBR-25 R) and, once PKB accepts it (AA), the stored original again (exactly once); " +
          "hold = wait for a person (outbox resolve); resend = send it again (at least once: PKB may store it twice). Documents (MDM^T02) replace themselves and are always re-sent",
      ),
    retractAfterSec: z
      .number()
      .int()
      .min(0)
      .max(3600)
      .default(60)
      .describe(
        "With onAmbiguous retract: seconds to wait after a send whose fate is unknown before retracting, so a late-landing first copy cannot arrive after the retraction (other rows are not held up)",
      ),
  })
  .describe("PKB HL7 v2 partner route (SOAP over HTTPS)");

/** Where the monitor may connect: TLS anywhere, plain MQTT (credentials in clear) only to loopback. */
export function brokerUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "is not a valid URL";
  }
  if (parsed.username !== "" || parsed.password !== "")
    return "must not carry credentials in the URL (use username and passwordFile)";
  if (parsed.protocol === "mqtts:" || parsed.protocol === "wss:") return undefined;
  if (parsed.protocol === "mqtt:" || parsed.protocol === "ws:")
    return isLoopbackHost(parsed.hostname)
      ? undefined
      : `uses cleartext ${parsed.protocol}// to ${parsed.hostname}: only mqtts:// or wss:// beyond loopback`;
  return `uses the scheme ${parsed.protocol} : only mqtts://, wss:// (or mqtt://, ws:// to loopback)`;
}

const topicLevels = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;

export const mqttSchema = z
  .strictObject({
    url: z
      .string()
      .min(1)
      .superRefine((url, ctx) => {
        const problem = brokerUrlProblem(url);
        if (problem) ctx.addIssue({ code: "custom", message: `broker URL ${problem}` });
      })
      .describe("mqtts:// or wss:// broker URL (mqtt:// and ws:// only to loopback)"),
    username: z.string().min(1).optional(),
    passwordFile: z.string().min(1).optional().describe("File (0600) holding the broker password"),
    caFile: z
      .string()
      .min(1)
      .optional()
      .describe("CA certificate(s) the broker's certificate is verified against"),
    certFile: z.string().min(1).optional().describe("Client certificate (with keyFile)"),
    keyFile: z.string().min(1).optional().describe("Client private key (0600, with certFile)"),
    baseTopic: z
      .string()
      .regex(topicLevels, "baseTopic must be topic levels of letters, digits, '_', '.' or '-' joined by '/'")
      .default("pkb-hub"),
    clientId: z.string().min(1).max(128).optional().describe("Defaults to pkb-hub-<hub id>"),
    protocolVersion: z
      .union([z.literal(4), z.literal(5)])
      .default(5)
      .describe("4 = MQTT 3.1.1, 5 = MQTT 5"),
    healthIntervalSec: z.number().int().min(5).default(60),
    keepaliveSec: z.number().int().min(5).max(600).default(30),
    reconnectMaxSec: z.number().int().min(1).max(3600).default(60).describe("Reconnect backoff ceiling"),
    eventQueueMax: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(500)
      .describe("Events kept while disconnected; the oldest go first beyond this"),
    commands: z.boolean().default(true).describe("Answer request/<op> commands"),
  })
  .superRefine((m, ctx) => {
    if ((m.certFile === undefined) !== (m.keyFile === undefined))
      ctx.addIssue({ code: "custom", path: ["keyFile"], message: "certFile and keyFile go together" });
    if (m.passwordFile !== undefined && m.username === undefined)
      ctx.addIssue({ code: "custom", path: ["username"], message: "passwordFile needs a username" });
  })
  .describe("Fleet monitoring over MQTT (no PHI is ever published)");
