import { createHash, randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * The stand-in's OAuth 2.0 authorization server at PKB's paths: authorization code (PKCE
 * verified when sent), refresh tokens with rotation switchable (PKB's behaviour is unknown),
 * revocation, short access-token lifetimes, and a scripted approve page for test patients.
 */
export interface OAuthOptions {
  clientId: string;
  clientSecret: string;
  accessTokenTtlSec: number;
  rotateRefreshTokens: boolean;
  /** Registers an issued access token with the resource server. */
  issueAccess: (token: string, patientId: string, expiresAtMs: number) => void;
  /** Removes every access token of a patient from the resource server. */
  revokeAccess: (patientId: string) => void;
  knownPatient: (patientId: string) => boolean;
}

interface PendingCode {
  patientId: string;
  redirectUri: string;
  challenge?: string;
  expiresAtMs: number;
}

const token = () => randomBytes(24).toString("base64url");

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  res.end(JSON.stringify(body));
}

export class StandinOAuth {
  private readonly codes = new Map<string, PendingCode>();
  private readonly refreshTokens = new Map<string, string>(); // refresh token → patient id
  private readonly deviceCodes = new Map<
    string,
    { userCode: string; patientId?: string; denied?: boolean; expiresAtMs: number }
  >();
  rotate: boolean;
  accessTtlSec: number;
  tokenRequests = 0;

  constructor(private readonly o: OAuthOptions) {
    this.rotate = o.rotateRefreshTokens;
    this.accessTtlSec = o.accessTokenTtlSec;
  }

  /** Invalidates every token of a patient (the patient revoked the hub's access in PKB). */
  revokePatient(patientId: string): void {
    for (const [rt, p] of this.refreshTokens) if (p === patientId) this.refreshTokens.delete(rt);
    this.o.revokeAccess(patientId);
  }

  /** Handles OAuth paths; false when the request is not for OAuth. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL, body: string): boolean {
    if (url.pathname === "/apiAuthorize.action" && req.method === "GET") {
      this.authorize(res, url);
      return true;
    }
    if (url.pathname === "/apiDeviceAuthorization.action" && req.method === "POST") {
      this.deviceStart(req, res, url, new URLSearchParams(body));
      return true;
    }
    if (url.pathname === "/apiRevoke.action" && req.method === "POST") {
      // RFC 7009: revoking a refresh token ends the grant; the answer is 200 either way.
      const form = new URLSearchParams(body);
      if (!this.clientOk(req, form)) json(res, 401, { error: "invalid_client" });
      else {
        const patientId = this.refreshTokens.get(form.get("token") ?? "");
        if (patientId) this.revokePatient(patientId);
        res.writeHead(200).end();
      }
      return true;
    }
    if (url.pathname === "/apiToken.action" && req.method === "POST") {
      this.tokenEndpoint(req, res, new URLSearchParams(body));
      return true;
    }
    return false;
  }

  private authorize(res: ServerResponse, url: URL) {
    const q = url.searchParams;
    const redirectUri = q.get("redirect_uri") ?? "";
    if (q.get("client_id") !== this.o.clientId || !redirectUri) {
      res.writeHead(400, { "content-type": "text/plain" }).end("unknown client or missing redirect_uri");
      return;
    }
    const back = new URL(redirectUri);
    const state = q.get("state");
    if (state) back.searchParams.set("state", state);
    const login = q.get("login");
    const decision = q.get("decision");
    if (!login || !decision) {
      // The login/approve page a patient would see; tests and the demo submit it by URL.
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(
        `<!doctype html><title>PKB stand-in</title><form method="get">${[...q]
          .map(([k, v]) => `<input type="hidden" name="${k}" value="${v.replace(/"/g, "&quot;")}">`)
          .join("")}<label>Patient id <input name="login"></label>` +
          `<button name="decision" value="approve">Approve</button><button name="decision" value="deny">Deny</button></form>`,
      );
      return;
    }
    if (decision !== "approve" || !this.o.knownPatient(login) || q.get("scope") !== "PATIENT") {
      back.searchParams.set("error", "access_denied");
    } else {
      const code = token();
      const challenge = q.get("code_challenge");
      this.codes.set(code, {
        patientId: login,
        redirectUri,
        ...(challenge ? { challenge } : {}),
        expiresAtMs: Date.now() + 60_000,
      });
      back.searchParams.set("code", code);
    }
    res.writeHead(302, { location: back.href }).end();
  }

  private deviceStart(req: IncomingMessage, res: ServerResponse, url: URL, form: URLSearchParams) {
    if (!this.clientOk(req, form)) return json(res, 401, { error: "invalid_client" });
    const deviceCode = token();
    const userCode = randomBytes(4).toString("hex").toUpperCase();
    this.deviceCodes.set(deviceCode, { userCode, expiresAtMs: Date.now() + 600_000 });
    const verify = new URL("/apiDevice.action", url.origin);
    json(res, 200, {
      device_code: deviceCode,
      user_code: userCode,
      verification_uri: verify.href,
      verification_uri_complete: `${verify.href}?user_code=${userCode}`,
      expires_in: 600,
      interval: 1,
    });
  }

  /** The patient entered the code and approved (or denied) on their own device. */
  decideDevice(userCode: string, patientId: string, approve = true): boolean {
    for (const entry of this.deviceCodes.values()) {
      if (entry.userCode !== userCode) continue;
      if (approve && this.o.knownPatient(patientId)) entry.patientId = patientId;
      else entry.denied = true;
      return true;
    }
    return false;
  }

  private deviceToken(res: ServerResponse, form: URLSearchParams) {
    const code = form.get("device_code") ?? "";
    const entry = this.deviceCodes.get(code);
    if (!entry || entry.expiresAtMs < Date.now()) return json(res, 400, { error: "expired_token" });
    if (entry.denied) {
      this.deviceCodes.delete(code);
      return json(res, 400, { error: "access_denied" });
    }
    if (!entry.patientId) return json(res, 400, { error: "authorization_pending" });
    this.deviceCodes.delete(code);
    const rt = token();
    this.refreshTokens.set(rt, entry.patientId);
    this.issue(res, entry.patientId, rt);
  }

  private clientOk(req: IncomingMessage, form: URLSearchParams): boolean {
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    if (basic) {
      const [id, secret] = Buffer.from(basic, "base64").toString().split(":").map(decodeURIComponent);
      return id === this.o.clientId && secret === this.o.clientSecret;
    }
    return form.get("client_id") === this.o.clientId && form.get("client_secret") === this.o.clientSecret;
  }

  private issue(res: ServerResponse, patientId: string, refreshToken?: string) {
    const access = token();
    this.o.issueAccess(access, patientId, Date.now() + this.accessTtlSec * 1000);
    const body: Record<string, unknown> = {
      access_token: access,
      token_type: "Bearer",
      expires_in: this.accessTtlSec,
      scope: "PATIENT",
    };
    if (refreshToken) body.refresh_token = refreshToken;
    json(res, 200, body);
  }

  private tokenEndpoint(req: IncomingMessage, res: ServerResponse, form: URLSearchParams) {
    this.tokenRequests++;
    if (!this.clientOk(req, form)) return json(res, 401, { error: "invalid_client" });
    const grant = form.get("grant_type");
    if (grant === "authorization_code") {
      const code = this.codes.get(form.get("code") ?? "");
      this.codes.delete(form.get("code") ?? "");
      if (!code || code.expiresAtMs < Date.now() || code.redirectUri !== form.get("redirect_uri")) {
        return json(res, 400, { error: "invalid_grant" });
      }
      if (code.challenge) {
        const verifier = form.get("code_verifier") ?? "";
        if (createHash("sha256").update(verifier).digest("base64url") !== code.challenge) {
          return json(res, 400, { error: "invalid_grant", error_description: "PKCE verification failed" });
        }
      }
      const rt = token();
      this.refreshTokens.set(rt, code.patientId);
      return this.issue(res, code.patientId, rt);
    }
    if (grant === "urn:ietf:params:oauth:grant-type:device_code") return this.deviceToken(res, form);
    if (grant === "refresh_token") {
      const old = form.get("refresh_token") ?? "";
      const patientId = this.refreshTokens.get(old);
      if (!patientId) return json(res, 400, { error: "invalid_grant" });
      if (!this.rotate) return this.issue(res, patientId);
      this.refreshTokens.delete(old);
      const rt = token();
      this.refreshTokens.set(rt, patientId);
      return this.issue(res, patientId, rt);
    }
    return json(res, 400, { error: "unsupported_grant_type" });
  }
}

/** Follows the approve page as a patient would: returns the redirect URL with code and state. */
export async function approveAs(
  authorizationUrl: URL,
  patientId: string,
  decision: "approve" | "deny" = "approve",
): Promise<URL> {
  const url = new URL(authorizationUrl);
  url.searchParams.set("login", patientId);
  url.searchParams.set("decision", decision);
  const res = await fetch(url, { redirect: "manual" });
  const location = res.headers.get("location");
  if (res.status !== 302 || !location) throw new Error(`approve page answered ${res.status}`);
  return new URL(location);
}
