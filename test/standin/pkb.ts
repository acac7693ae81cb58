import {
  type Fault,
  type PkbApiStandin,
  type PkbStandinOptions,
  type StandinPatient,
  type StoredMeasurement,
  startPkbApiStandin,
} from "./pkb-api.js";
import { approveAs, approveDeviceAs } from "./pkb-browser.js";

export type { Fault, StandinPatient, StoredMeasurement };

/**
 * The PKB stand-in as tests, the demo and benchmarks drive it: OAuth at PKB's paths, the Users and
 * measurement APIs, fault knobs and inspection. A thin face over ./pkb-api.ts and ./pkb-oauth.ts.
 */
export interface PkbStandin {
  readonly url: string;
  /** The lower-level handle (token registration, request counts, OAuth internals). */
  readonly api: PkbApiStandin;
  addPatient(patient: StandinPatient): void;
  /** The patient's browser: signs in on the approve page and approves (or denies); the redirect URL. */
  approve(authorizationUrl: URL, patientId: string, decision?: "approve" | "deny"): Promise<URL>;
  /** Device grant: the patient enters the user code on their own device and decides. */
  approveDevice(
    verificationUri: URL,
    userCode: string,
    patientId: string,
    decision?: "approve" | "deny",
  ): Promise<void>;
  /** Faults answered to the next API requests, in order (replacing any queued). */
  setFaults(...faults: Fault[]): void;
  setLatencyMs(ms: number): void;
  setRotation(rotate: boolean): void;
  setAccessTokenTtlSec(seconds: number): void;
  /** The patient revoked the hub's access in PKB: every token of theirs stops working. */
  revoke(patientId: string): Promise<void>;
  /** The patient's access tokens expire now; refresh still works. */
  expireAccessTokens(patientId: string): void;
  /** What the patient's record holds. */
  records(patientId: string): StoredMeasurement[];
  /** What every patient's record holds (also `GET /standin/records` over HTTP). */
  inspect(): Record<string, StoredMeasurement[]>;
  /** Requests answered so far at the token endpoint. */
  tokenRequests(): number;
  stop(): Promise<void>;
}

export async function startPkbStandin(options: PkbStandinOptions = {}): Promise<PkbStandin> {
  const api = await startPkbApiStandin(options);
  return {
    url: api.url,
    api,
    addPatient: (p) => api.addPatient(p),
    approve: (url, patientId, decision = "approve") => approveAs(url, patientId, decision),
    approveDevice: (uri, userCode, patientId, decision = "approve") =>
      approveDeviceAs(uri, userCode, patientId, decision),
    setFaults: (...faults) => {
      api.clearFaults();
      api.injectFaults(...faults);
    },
    setLatencyMs: (ms) => api.setLatencyMs(ms),
    setRotation: (rotate) => {
      api.oauth.rotate = rotate;
    },
    setAccessTokenTtlSec: (seconds) => {
      api.oauth.accessTtlSec = seconds;
    },
    revoke: (patientId) => api.oauth.revokePatient(patientId),
    expireAccessTokens: (patientId) => api.expireAccessTokens(patientId),
    records: (patientId) => api.records(patientId),
    inspect: () => api.inspect(),
    tokenRequests: () => api.oauth.tokenRequests,
    stop: () => api.stop(),
  };
}
