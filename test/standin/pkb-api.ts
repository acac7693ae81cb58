import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { OAUTH_PATHS, StandinOAuth } from "./pkb-oauth.js";

/**
 * The PKB stand-in's REST part: Users API and measurement API shaped as PKB.md describes, validating
 * bodies like the real one would, with fault injection and an inspection view of each record.
 * Tokens come from the OAuth server in front of it (./pkb-oauth.ts); unit tests may also register
 * bearer tokens directly.
 */
export const API_REFS: Record<string, Record<string, string>> = {
  BLOOD_PRESSURE: { systolic: "mmHg", diastolic: "mmHg", pulse: "bpm" },
  OXYGEN_SATURATION: { saturation: "%", pulse: "bpm" },
  HEART_RATE: { rate: "bpm" },
  BODY_TEMPERATURE: { temperature: "°C" },
  WEIGHT: { weight: "kg" },
  BLOOD_GLUCOSE: { glucose: "mmol/L" },
  RESPIRATORY_RATE: { rate: "breaths/min" },
  PEAK_FLOW: { flow: "L/min" },
};

export interface StandinPatient {
  id: string;
  firstName: string;
  lastName: string;
  dob: string;
  gender: string;
  nhsNumber: string;
}

/**
 * A fault answered to the next request of its target: `api` (Users and measurement API, the
 * default) or `token` (the OAuth token endpoint: refreshes and code exchanges).
 */
export type Fault = { on?: "api" | "token" } & (
  | {
      kind: "status";
      status: number;
      retryAfter?: string;
      /** The API's JSON `message`, or the token endpoint's `error_description`. */
      message?: string;
      /** The token endpoint's OAuth `error` (default server_error). */
      error?: string;
    }
  | { kind: "hang" }
  | { kind: "reset" }
  /** Stores the measurement, then hangs: the client times out after the server accepted it. */
  | { kind: "accept-then-hang" }
  /** Stores the measurement, then drops the connection: the answer is lost after the server accepted it. */
  | { kind: "accept-then-reset" }
  /** Stores the measurement, then answers this (a proxy's HTML page, an empty or odd 2xx body). */
  | { kind: "accept-then-answer"; status: number; body: string; contentType?: string }
  /**
   * Never answers; the measurement is stored only when `landLate()` is called (a slow back end behind
   * a gateway that timed out): the client gives up before the measurement lands.
   */
  | { kind: "land-late" }
);

export interface StoredMeasurement {
  type: string;
  observedDate: string;
  values: Array<{ name: string; value: number; unit: string }>;
  /** The reading's flags (out-of-range, above/below the device's measuring range, ambiguous local time…). */
  flags?: string[];
  externalId?: string;
}

export interface PkbApiStandin {
  url: string;
  oauth: StandinOAuth;
  addPatient(p: StandinPatient, token?: string): void;
  revokeToken(token: string): void;
  /** Every access token of a patient expires now (the refresh token keeps working). */
  expireAccessTokens(patientId: string): void;
  addToken(token: string, patientId: string): void;
  /** Faults answered to the next requests, in order. */
  injectFaults(...faults: Fault[]): void;
  clearFaults(): void;
  /**
   * Faults at a rate (chaos runs): each request of a fault's target, when none is queued, gets the
   * fault `pick` draws with probability `rate`. `rate` 0 stops them.
   */
  setFaultRate(rate: number, pick: () => Fault, rand?: () => number): void;
  /** Faults answered so far (queued and random). */
  injected(): number;
  setLatencyMs(ms: number): void;
  /** Stores the measurements `land-late` faults are holding back; how many. */
  landLate(): number;
  /**
   * Whether the measurement listing echoes the hub's `externalId` (default yes). Unknown for the real
   * PKB: without it, the hub must recognise its measurement by type, time and values.
   */
  setEchoExternalId(echo: boolean): void;
  records(patientId: string): StoredMeasurement[];
  /** Every patient's record (patient id → measurements). */
  inspect(): Record<string, StoredMeasurement[]>;
  requests(): number;
  stop(): Promise<void>;
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

function validate(body: unknown): string | undefined {
  const b = body as Partial<StoredMeasurement> | null;
  if (!b || typeof b !== "object") return "body must be a JSON object";
  if (typeof b.type !== "string" || !API_REFS[b.type]) return `unknown measurement type ${String(b.type)}`;
  if (typeof b.observedDate !== "string" || Number.isNaN(Date.parse(b.observedDate)))
    return "observedDate is required";
  if (!Array.isArray(b.values) || b.values.length === 0) return "values are required";
  const refs = API_REFS[b.type] as Record<string, string>;
  for (const v of b.values) {
    if (!(v.name in refs)) return `unknown value ${v.name} for ${b.type}`;
    if (refs[v.name] !== v.unit)
      return `wrong unit ${v.unit} for ${b.type}.${v.name}, expected ${refs[v.name]}`;
    if (typeof v.value !== "number" || !Number.isFinite(v.value))
      return `value of ${v.name} must be a number`;
  }
  if (b.flags !== undefined && !(Array.isArray(b.flags) && b.flags.every((x) => typeof x === "string")))
    return "flags must be a list of strings";
  return undefined;
}

/** A value written in exponent notation (1e-7, 5.5E+1): a receiver may read it as another number. */
const EXPONENT_VALUE = /"value"\s*:\s*-?\d+(\.\d+)?[eE]/;

export interface PkbStandinOptions {
  clientId?: string;
  clientSecret?: string;
  accessTokenTtlSec?: number;
  rotateRefreshTokens?: boolean;
  /** Advertise and accept the device authorization grant (PKB does not document it). */
  deviceGrant?: boolean;
  /** Paths of the hub's registered redirect URIs (any loopback host and port). */
  redirectPaths?: string[];
  /** Patients PKB knows from the start (more with addPatient). */
  patients?: StandinPatient[];
  /** Added to every answer (benchmarks, timeout tests). */
  latencyMs?: number;
}

export async function startPkbApiStandin(options: PkbStandinOptions = {}): Promise<PkbApiStandin> {
  const patients = new Map<string, StandinPatient>((options.patients ?? []).map((p) => [p.id, p]));
  // Bearer tokens registered directly by unit tests; OAuth-issued ones are checked by the provider.
  const tokens = new Map<string, { patientId: string; expiresAtMs: number }>();
  let oauth: StandinOAuth | undefined;
  const records = new Map<string, StoredMeasurement[]>();
  const faults: Fault[] = [];
  const sockets = new Set<Socket>();
  let latencyMs = options.latencyMs ?? 0;
  let echoExternalId = true;
  let requests = 0;

  let random: { rate: number; pick: () => Fault; rand: () => number } | undefined;
  let injected = 0;
  const takeFault = (target: "api" | "token"): Fault | undefined => {
    const i = faults.findIndex((f) => (f.on ?? "api") === target);
    if (i >= 0) {
      injected++;
      return faults.splice(i, 1)[0];
    }
    if (!random || random.rand() >= random.rate) return undefined;
    const fault = random.pick();
    if ((fault.on ?? "api") !== target) return undefined;
    injected++;
    return fault;
  };

  /** Measurements accepted by a `land-late` fault, stored when `landLate()` is called. */
  const late: Array<{ patientId: string; measurement: StoredMeasurement }> = [];
  const store = (patientId: string, m: StoredMeasurement): StoredMeasurement[] => {
    const list = records.get(patientId) ?? [];
    list.push(m);
    records.set(patientId, list);
    return list;
  };

  const readBody = (req: IncomingMessage) =>
    new Promise<string>((resolve) => {
      let data = "";
      req.on("data", (c: Buffer) => {
        data += c.toString();
      });
      req.on("end", () => resolve(data));
    });

  const server: Server = createServer(async (req, res) => {
    requests++;
    if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));
    const url = new URL(req.url ?? "/", "http://standin");
    if (oauth?.handles(url.pathname)) {
      const tokenFault = url.pathname === OAUTH_PATHS.token ? takeFault("token") : undefined;
      if (tokenFault?.kind === "status") {
        return send(
          res,
          tokenFault.status,
          { error: tokenFault.error ?? "server_error", error_description: tokenFault.message ?? "injected" },
          {
            ...(tokenFault.retryAfter ? { "retry-after": tokenFault.retryAfter } : {}),
          },
        );
      }
      if (tokenFault?.kind === "reset") return req.socket.destroy();
      if (tokenFault) return; // hang
      return oauth.handle(req, res, url);
    }
    const body = await readBody(req);
    if (url.pathname === "/v2-beta/measurements/apiRefs") return send(res, 200, API_REFS);
    // Inspection (tests, demo, benchmarks): what each patient's record holds.
    if (req.method === "GET" && url.pathname === "/standin/records")
      return send(res, 200, Object.fromEntries(records));
    const inspect = /^\/standin\/records\/([^/]+)$/.exec(url.pathname);
    if (req.method === "GET" && inspect)
      return send(res, 200, records.get(decodeURIComponent(inspect[1] ?? "")) ?? []);
    const fault = takeFault("api");
    if (fault?.kind === "hang") return;
    if (fault?.kind === "reset") return req.socket.destroy();
    if (fault?.kind === "status") {
      return send(
        res,
        fault.status,
        { message: fault.message ?? `injected ${fault.status}` },
        fault.retryAfter ? { "retry-after": fault.retryAfter } : {},
      );
    }
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    const direct = token ? tokens.get(token) : undefined;
    const patientId =
      direct && direct.expiresAtMs > Date.now()
        ? direct.patientId
        : token && !direct
          ? await oauth?.patientOf(token)
          : undefined;
    if (!patientId) return send(res, 401, { message: "invalid or expired token" });
    const patient = patients.get(patientId) as StandinPatient;
    if (req.method === "GET" && url.pathname === "/json/users/self") {
      return send(res, 200, {
        id: patient.id,
        firstName: patient.firstName,
        lastName: patient.lastName,
        dob: patient.dob,
        gender: patient.gender,
        patient: true,
        nationalIds: [{ value: patient.nhsNumber, name: "NHS number", countryCodes: ["GB"] }],
      });
    }
    if (req.method === "POST" && url.pathname === "/json/v1/measurements") {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        return send(res, 400, { message: "body is not JSON" });
      }
      const problem = EXPONENT_VALUE.test(body) ? "value in exponent notation" : validate(parsed);
      if (problem) return send(res, 400, { message: problem });
      if (fault?.kind === "land-late") {
        late.push({ patientId, measurement: parsed as StoredMeasurement });
        return;
      }
      const list = store(patientId, parsed as StoredMeasurement);
      if (fault?.kind === "accept-then-hang") return;
      if (fault?.kind === "accept-then-reset") return req.socket.destroy();
      if (fault?.kind === "accept-then-answer") {
        res.writeHead(fault.status, { "content-type": fault.contentType ?? "application/json" });
        return res.end(fault.body);
      }
      return send(res, 201, { id: `${patientId}-${list.length}` });
    }
    const byType = /^\/json\/v1\/measurements\/byType\/([A-Z_]+)$/.exec(url.pathname);
    if (req.method === "GET" && byType) {
      const listed = (records.get(patientId) ?? []).filter((m) => m.type === byType[1]);
      return send(res, 200, echoExternalId ? listed : listed.map(({ externalId: _id, ...m }) => m));
    }
    return send(res, 404, { message: "not found" });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const auth = new StandinOAuth({
    issuer: url,
    clientId: options.clientId ?? "pkb-hub-test",
    clientSecret: options.clientSecret ?? "test-secret",
    redirectPaths: options.redirectPaths ?? ["/callback"],
    accessTokenTtlSec: options.accessTokenTtlSec ?? 600,
    rotateRefreshTokens: options.rotateRefreshTokens ?? true,
    deviceGrant: options.deviceGrant ?? true,
    knownPatient: (id) => patients.has(id),
  });
  oauth = auth;
  return {
    url,
    oauth: auth,
    addPatient(p, token) {
      patients.set(p.id, p);
      if (token) tokens.set(token, { patientId: p.id, expiresAtMs: Number.MAX_SAFE_INTEGER });
    },
    addToken(token, patientId) {
      tokens.set(token, { patientId, expiresAtMs: Number.MAX_SAFE_INTEGER });
    },
    revokeToken(token) {
      tokens.delete(token);
    },
    expireAccessTokens(patientId) {
      for (const grant of tokens.values()) if (grant.patientId === patientId) grant.expiresAtMs = 0;
      auth.expireAccessTokens(patientId);
    },
    injectFaults(...f) {
      faults.push(...f);
    },
    clearFaults() {
      faults.length = 0;
    },
    setFaultRate(rate, pick, rand = Math.random) {
      random = rate > 0 ? { rate, pick, rand } : undefined;
    },
    injected: () => injected,
    landLate() {
      const landing = late.splice(0);
      for (const l of landing) store(l.patientId, l.measurement);
      return landing.length;
    },
    setEchoExternalId(echo) {
      echoExternalId = echo;
    },
    setLatencyMs(ms) {
      latencyMs = ms;
    },
    records: (id) => records.get(id) ?? [],
    inspect: () => Object.fromEntries([...records].map(([id, list]) => [id, [...list]])),
    requests: () => requests,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
