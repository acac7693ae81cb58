import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { HubError } from "../core/errors.js";
import { SecretBox, writeFileAtomic } from "../core/secrets.js";
import type { AuthorizationRequest } from "../forward/pkb-rest/oauth.js";

/**
 * Paste mode without a terminal runs in two steps: the first `pkb-hub link` starts the request and
 * keeps its state and PKCE verifier here (sealed, bound to the patient, 0600); the second, given the
 * redirect address with --redirect-url or the code with --code, finishes it. An authorization code
 * lives minutes, so a request older than this is refused.
 */
export const PENDING_MAX_AGE_MS = 15 * 60_000;

function fileOf(dataDir: string, patient: string): string {
  return join(dataDir, "links", `${patient}.pending`);
}

function context(patient: string): string {
  return `pkb-hub link-pending v1\npatient=${patient}`;
}

export function savePending(
  dataDir: string,
  patient: string,
  request: AuthorizationRequest,
  nowMs: number,
): void {
  const body = JSON.stringify({
    url: request.url.href,
    state: request.state,
    codeVerifier: request.codeVerifier,
    createdMs: nowMs,
  });
  writeFileAtomic(fileOf(dataDir, patient), SecretBox.open(dataDir).seal(body, context(patient)));
}

export function readPending(dataDir: string, patient: string, nowMs: number): AuthorizationRequest {
  const file = fileOf(dataDir, patient);
  const none = new HubError(
    "USAGE",
    `no link is waiting for patient ${patient}: start one with pkb-hub link ${patient} --mode paste, then give the address the browser ended on`,
  );
  let sealed: string;
  try {
    sealed = readFileSync(file, "utf8");
  } catch {
    throw none;
  }
  const p = JSON.parse(SecretBox.open(dataDir).open(sealed, context(patient))) as {
    url: string;
    state: string;
    codeVerifier: string;
    createdMs: number;
  };
  if (nowMs - p.createdMs > PENDING_MAX_AGE_MS)
    throw new HubError(
      "LINK_TIMEOUT",
      `the link for patient ${patient} was started more than ${PENDING_MAX_AGE_MS / 60_000} minutes ago: start it again`,
    );
  return { url: new URL(p.url), state: p.state, codeVerifier: p.codeVerifier };
}

/** Once the link is made (a code works once), the waiting request goes. */
export function clearPending(dataDir: string, patient: string): void {
  rmSync(fileOf(dataDir, patient), { force: true });
}
