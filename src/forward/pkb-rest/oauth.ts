import * as client from "openid-client";
import { pkbRestUrlProblems } from "../../config/routes.js";
import type { Config } from "../../config/schema.js";
import { isLoopbackHost } from "../../config/url.js";
import { HubError, messageOf } from "../../core/errors.js";
import { readSecretFile } from "../../core/secrets.js";

export type PkbRestConfig = NonNullable<Config["routes"]["pkbRest"]>;

export interface TokenSet {
  accessToken: string;
  refreshToken?: string;
  expiresInSec: number;
}

/**
 * Refuses a route whose endpoints would carry tokens, the client secret or the authorization code in
 * cleartext beyond this machine (or over another scheme), before any connection is made. The schema
 * says the same at `config check`; this holds for a config that never went through it.
 */
export function assertPkbRestEndpoints(route: PkbRestConfig): void {
  const problems = pkbRestUrlProblems(route);
  if (problems.length > 0) {
    throw new HubError(
      "CONFIG_INVALID",
      `routes.pkbRest refused: ${problems.map((p) => `${p.field} ${p.message}`).join("; ")}`,
    );
  }
}

/**
 * openid-client configured with PKB's endpoints explicitly: PKB publishes no discovery document.
 * Plain http is allowed only for loopback (the stand-in); every real PKB URL is https.
 */
export function oauthConfig(route: PkbRestConfig, fetchImpl: typeof fetch = fetch): client.Configuration {
  assertPkbRestEndpoints(route);
  const base = new URL(route.baseUrl);
  const endpoint = (path: string) => new URL(path, base).href;
  const metadata: client.ServerMetadata = {
    issuer: route.issuer ?? base.origin,
    authorization_endpoint: endpoint(route.authorizationPath),
    token_endpoint: endpoint(route.tokenPath),
    ...(route.revocationPath ? { revocation_endpoint: endpoint(route.revocationPath) } : {}),
    ...(route.deviceAuthorizationPath
      ? { device_authorization_endpoint: endpoint(route.deviceAuthorizationPath) }
      : {}),
  };
  const config = new client.Configuration(metadata, route.clientId, readSecretFile(route.clientSecretFile));
  config.timeout = Math.ceil(route.requestTimeoutMs / 1000);
  config[client.customFetch] = (url, options) => fetchImpl(url, options as RequestInit);
  // Every endpoint passed assertPkbRestEndpoints: any http one is on this machine (the stand-in).
  if (base.protocol === "http:" && isLoopbackHost(base.hostname)) client.allowInsecureRequests(config);
  return config;
}

function toTokenSet(t: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers): TokenSet {
  return {
    accessToken: t.access_token,
    ...(t.refresh_token ? { refreshToken: t.refresh_token } : {}),
    expiresInSec: t.expiresIn() ?? 600,
  };
}

export function isInvalidGrant(err: unknown): boolean {
  return (err as { error?: unknown }).error === "invalid_grant";
}

/**
 * What the server said in an OAuth error (RFC 6749 §5.2 `error` and `error_description`), and the
 * library's own complaint: may quote anything, so it goes in `serverText`, never in a message.
 */
function oauthText(err: unknown): string {
  const { error, error_description: description } = err as { error?: unknown; error_description?: unknown };
  const said = [error, description].filter((t): t is string => typeof t === "string" && t !== "");
  return said.length > 0 ? said.join(": ") : messageOf(err);
}

/** Why a request did not complete, in the hub's words: a network error code or the error's class. */
function failureKind(err: unknown): string {
  const { cause, name } = err as { cause?: { code?: unknown }; name?: unknown };
  if (typeof cause?.code === "string") return cause.code;
  return typeof name === "string" ? name : "unknown";
}

/** The HTTP status behind an openid-client error: on the error, or on the Response it carries as cause. */
function httpStatusOf(err: unknown): number | undefined {
  const { status, cause } = err as { status?: unknown; cause?: unknown };
  if (typeof status === "number") return status;
  return cause instanceof Response ? cause.status : undefined;
}

/**
 * Refresh. `invalid_grant` (revoked, expired session) → RELINK_NEEDED; another OAuth error (e.g.
 * invalid_client: the hub's client credentials) → AUTH_FAILED; a 5xx → SERVER_ERROR; else NETWORK.
 */
export async function refreshTokens(config: client.Configuration, refreshToken: string): Promise<TokenSet> {
  try {
    return toTokenSet(await client.refreshTokenGrant(config, refreshToken));
  } catch (err) {
    if (isInvalidGrant(err))
      throw new HubError("RELINK_NEEDED", "PKB refused the refresh token: the patient must re-link", {
        cause: err,
        serverText: oauthText(err),
      });
    const { error } = err as { error?: unknown };
    const status = httpStatusOf(err);
    if (status !== undefined && status >= 500)
      throw new HubError("SERVER_ERROR", `token refresh: PKB answered HTTP ${status}`, { cause: err });
    if (typeof error === "string")
      throw new HubError("AUTH_FAILED", "token refresh refused by PKB (OAuth error)", {
        cause: err,
        serverText: oauthText(err),
      });
    throw new HubError("NETWORK", `token refresh failed (${failureKind(err)})`, {
      cause: err,
      serverText: messageOf(err),
    });
  }
}

/** Best effort: tells PKB to forget a grant we will not keep (needs a configured revocation endpoint). */
export async function revokeQuietly(
  config: client.Configuration,
  refreshToken: string | undefined,
): Promise<void> {
  if (!refreshToken || !config.serverMetadata().revocation_endpoint) return;
  try {
    await client.tokenRevocation(config, refreshToken, { token_type_hint: "refresh_token" });
  } catch {
    // Nothing is stored locally either way; the grant expires on its own.
  }
}

export interface AuthorizationRequest {
  url: URL;
  state: string;
  codeVerifier: string;
}

/** The URL the patient opens, with state and PKCE (PKB does not document PKCE; sending it is harmless). */
export async function startAuthorization(
  config: client.Configuration,
  route: PkbRestConfig,
): Promise<AuthorizationRequest> {
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: route.redirectUri,
    scope: route.scope,
    state,
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: "S256",
  });
  return { url, state, codeVerifier };
}

/** Exchanges the redirect's code; the state must match, else the link is refused. */
export async function finishAuthorization(
  config: client.Configuration,
  request: AuthorizationRequest,
  callbackUrl: URL,
): Promise<TokenSet> {
  // An answer to another request (forged, stale) is not ours, whether it carries a code or an error.
  if (callbackUrl.searchParams.get("state") !== request.state)
    throw new HubError("AUTH_FAILED", "the redirect does not answer this link request (state differs)");
  const error = callbackUrl.searchParams.get("error");
  if (error === "access_denied") throw new HubError("LINK_DENIED", "the patient did not give consent");
  if (error) {
    const description = callbackUrl.searchParams.get("error_description");
    throw new HubError("LINK_DENIED", "PKB refused the link (OAuth error)", {
      serverText: description ? `${error}: ${description}` : error,
    });
  }
  try {
    return toTokenSet(
      await client.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: request.codeVerifier,
        expectedState: request.state,
      }),
    );
  } catch (err) {
    throw new HubError("AUTH_FAILED", `could not complete the link (${failureKind(err)})`, {
      cause: err,
      serverText: oauthText(err),
    });
  }
}

/**
 * Device authorization grant (RFC 8628), only where the server advertises it (configured
 * deviceAuthorizationPath: PKB publishes no discovery document). The technician reads a short code
 * off the hub; the patient enters it on any device.
 */
export async function deviceAuthorization(
  config: client.Configuration,
  route: PkbRestConfig,
  show: (verificationUri: string, userCode: string) => void,
  timeoutMs: number,
): Promise<TokenSet> {
  if (!route.deviceAuthorizationPath) {
    throw new HubError(
      "USAGE",
      "this PKB server does not advertise the device authorization grant: use loopback or paste",
    );
  }
  const started = await client.initiateDeviceAuthorization(config, { scope: route.scope });
  show(started.verification_uri_complete ?? started.verification_uri, started.user_code);
  try {
    return toTokenSet(
      await client.pollDeviceAuthorizationGrant(config, started, undefined, {
        signal: AbortSignal.timeout(timeoutMs),
      }),
    );
  } catch (err) {
    const code = (err as { error?: unknown }).error;
    if (code === "access_denied") throw new HubError("LINK_DENIED", "the patient did not give consent");
    if (code === "expired_token" || (err as { name?: unknown }).name === "TimeoutError") {
      throw new HubError("LINK_TIMEOUT", "the code expired before the patient approved");
    }
    throw new HubError("AUTH_FAILED", `device authorization failed (${failureKind(err)})`, {
      cause: err,
      serverText: oauthText(err),
    });
  }
}
