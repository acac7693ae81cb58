import { createServer } from "node:http";
import { loopbackRedirectProblem } from "../../config/routes.js";
import type { PatientConfig } from "../../config/schema.js";
import type { Clock } from "../../core/clock.js";
import { HubError, messageOf } from "../../core/errors.js";
import type { Logger } from "../../core/log.js";
import { isValidNhsNumber } from "../../core/nhs.js";
import {
  type AuthorizationRequest,
  deviceAuthorization,
  finishAuthorization,
  oauthConfig,
  type PkbRestConfig,
  revokeQuietly,
  startAuthorization,
  type TokenSet,
} from "./oauth.js";
import type { PatientLink, TokenStore } from "./token-store.js";

export interface LinkOptions {
  route: PkbRestConfig;
  patient: PatientConfig;
  store: TokenStore;
  clock: Clock;
  fetch?: typeof fetch;
  /**
   * loopback: a callback server on the redirect URI; paste: the technician pastes the redirect URL or
   * code; device: the device authorization grant (only where the server advertises it).
   */
  mode: "loopback" | "paste" | "device";
  /** Shows the URL to open (terminal, QR code), and in device mode the code to enter. */
  show: (url: URL, userCode?: string) => void;
  /**
   * What the technician pasted (the full redirect URL or just the code): required in paste mode; in
   * loopback mode an alternative to the callback, for when the browser is on another machine.
   */
  paste?: () => Promise<string>;
  timeoutMs?: number;
  /** Re-linking to a different PKB account than before is refused unless this is set. */
  newAccount?: boolean;
  /**
   * Link a patient whose configuration has no NHS number, so the hub cannot check the PKB account
   * is theirs: refused unless this is set (`--accept-unverified`); logged and recorded in the link.
   */
  acceptUnverified?: boolean;
  /**
   * Link a PKB account another local patient is already linked to (both would deliver into one
   * record): refused unless this is set (`--shared-account`); recorded in the link.
   */
  sharedAccount?: boolean;
  logger?: Logger;
  /**
   * Paste mode in two steps (no terminal): the request started by an earlier `pkb-hub link` (its
   * state and PKCE verifier kept sealed) and the redirect address or code the technician now gives.
   */
  resume?: { request: AuthorizationRequest; pasted: string };
}

/** GET /json/users/self: the PKB id and NHS number of the account that approved the link. */
async function usersSelf(
  fetchImpl: typeof fetch,
  route: PkbRestConfig,
  accessToken: string,
): Promise<{ id: string; nhsNumber?: string }> {
  let res: Response;
  try {
    res = await fetchImpl(new URL("/json/users/self", route.baseUrl), {
      headers: { authorization: `Bearer ${accessToken}`, accept: "application/json" },
      signal: AbortSignal.timeout(route.requestTimeoutMs),
    });
  } catch (err) {
    const timedOut = (err as { name?: unknown }).name === "TimeoutError";
    throw new HubError(timedOut ? "TIMEOUT" : "NETWORK", "PKB Users API could not be reached", {
      cause: err,
    });
  }
  if (!res.ok) throw new HubError("PROTOCOL", `PKB Users API answered HTTP ${res.status}`);
  let body: unknown;
  try {
    body = await res.json();
  } catch (err) {
    throw new HubError("PROTOCOL", "PKB Users API answered something other than JSON", { cause: err });
  }
  const self = (body ?? {}) as { id?: unknown; nationalIds?: unknown };
  if (typeof self.id !== "string" && typeof self.id !== "number")
    throw new HubError("PROTOCOL", "PKB Users API gave no id");
  const ids = Array.isArray(self.nationalIds)
    ? (self.nationalIds as Array<{ value?: unknown; name?: unknown }>)
    : [];
  const nhs = ids.find((n) => n?.name === "NHS number" && typeof n.value === "string")?.value;
  return { id: String(self.id), ...(typeof nhs === "string" ? { nhsNumber: nhs } : {}) };
}

/**
 * Serves the redirect URI until PKB's redirect arrives. `onListening` shows the address and may
 * return what the technician pastes meanwhile (the browser was on another machine, so the redirect
 * to a loopback address went nowhere): whichever comes first is used.
 */
async function waitForCallback(
  redirectUri: string,
  state: string,
  timeoutMs: number,
  onListening: () => Promise<URL> | undefined,
): Promise<URL> {
  const target = new URL(redirectUri);
  return new Promise<URL>((resolve, reject) => {
    const finish = (url: URL) => {
      clearTimeout(timer);
      server.close();
      server.closeIdleConnections();
      resolve(url);
    };
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? "/", redirectUri);
      if (url.pathname !== target.pathname) {
        res.writeHead(404).end();
        return;
      }
      if (url.searchParams.get("state") !== state) {
        // Not the redirect this link waits for (a stray visit, a prefetch, another local process
        // sending `error=` or a code of its own): it must not end the link; keep waiting.
        res.writeHead(400, { "content-type": "text/plain" }).end("waiting for the redirect from PKB");
        return;
      }
      const refused = url.searchParams.has("error");
      // connection: close — a kept-alive socket would outlive the server and swallow a later link's redirect.
      res.writeHead(200, {
        "content-type": "text/html; charset=utf-8",
        "cache-control": "no-store",
        connection: "close",
      });
      res.end(
        `<!doctype html><title>pkb-hub</title><p>${
          refused
            ? "The hub was not linked: access was not approved."
            : "Thank you. The hub is being linked; you can close this page."
        }</p>`,
      );
      finish(url);
    });
    const timer = setTimeout(() => {
      server.close();
      reject(new HubError("LINK_TIMEOUT", "no answer from the patient's browser in time"));
    }, timeoutMs);
    server.on("error", (err) => {
      clearTimeout(timer);
      reject(new HubError("USAGE", `cannot listen on ${redirectUri}: ${messageOf(err)}`, { cause: err }));
    });
    server.listen(Number(target.port || 80), target.hostname.replace(/^\[|\]$/g, ""), () => {
      // A failed or abandoned paste leaves the callback page waiting.
      onListening()?.then(finish, () => {});
    });
  });
}

/** The technician's paste, or LINK_TIMEOUT: an authorization code is short-lived anyway. */
function pasteInTime(paste: () => Promise<string>, timeoutMs: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new HubError("LINK_TIMEOUT", "nothing was pasted in time: start the link again")),
      timeoutMs,
    );
  });
  return Promise.race([paste(), expired]).finally(() => clearTimeout(timer));
}

function pastedToUrl(text: string, request: AuthorizationRequest, redirectUri: string): URL {
  const trimmed = text.trim();
  if (/^https?:\/\//.test(trimmed)) return new URL(trimmed);
  const url = new URL(redirectUri);
  url.searchParams.set("code", trimmed);
  url.searchParams.set("state", request.state);
  return url;
}

async function obtainTokens(
  o: LinkOptions,
  config: ReturnType<typeof oauthConfig>,
  timeoutMs: number,
): Promise<TokenSet> {
  if (o.mode === "device") {
    return deviceAuthorization(config, o.route, (uri, userCode) => o.show(new URL(uri), userCode), timeoutMs);
  }
  if (o.mode === "loopback") {
    const problem = loopbackRedirectProblem(o.route.redirectUri);
    if (problem) throw new HubError("CONFIG_INVALID", `routes.pkbRest.redirectUri ${problem}`);
  }
  if (o.resume) {
    const { request, pasted } = o.resume;
    return finishAuthorization(config, request, pastedToUrl(pasted, request, o.route.redirectUri));
  }
  const request = await startAuthorization(config, o.route);
  let callback: URL;
  if (o.mode === "loopback") {
    callback = await waitForCallback(o.route.redirectUri, request.state, timeoutMs, () => {
      o.show(request.url);
      return o.paste?.().then((text) => pastedToUrl(text, request, o.route.redirectUri));
    });
  } else {
    if (!o.paste) throw new HubError("USAGE", "paste mode needs a way to read the pasted code");
    o.show(request.url);
    callback = pastedToUrl(await pasteInTime(o.paste, timeoutMs), request, o.route.redirectUri);
  }
  return finishAuthorization(config, request, callback);
}

/** The patient's current link, if any; an unreadable one (lost key) counts as none. */
function readPrevious(o: LinkOptions): PatientLink | undefined {
  try {
    return o.store.get(o.patient.key);
  } catch {
    return undefined;
  }
}

/** The other local patients whose links point at this PKB account (unreadable links cannot be checked). */
function linkedElsewhere(o: LinkOptions, pkbId: string): string[] {
  return o.store.patients().filter((key) => {
    if (key === o.patient.key) return false;
    try {
      return o.store.get(key)?.pkbId === pkbId;
    } catch {
      return false;
    }
  });
}

/** Refused before the patient is asked to approve anything: a link the hub could not verify. */
export function assertLinkable(patient: PatientConfig, acceptUnverified: boolean | undefined): void {
  if (!patient.nhsNumber && !acceptUnverified) {
    throw new HubError(
      "USAGE",
      `patient ${patient.key} has no NHS number in the configuration, so the hub cannot check that the ` +
        "PKB account is theirs: add patients[].nhsNumber, or link with --accept-unverified after checking the account in person",
    );
  }
}

/**
 * Links a patient: authorization code with state and PKCE, then the Users API. The mis-attribution
 * guard refuses the link when the configured NHS number differs from the PKB account's.
 */
export async function linkPatient(o: LinkOptions): Promise<PatientLink> {
  const fetchImpl = o.fetch ?? fetch;
  const config = oauthConfig(o.route, fetchImpl);
  assertLinkable(o.patient, o.acceptUnverified);
  const timeoutMs = o.timeoutMs ?? 10 * 60_000;
  const tokens = await obtainTokens(o, config, timeoutMs);
  const self = await usersSelf(fetchImpl, o.route, tokens.accessToken).catch(async (err: unknown) => {
    await revokeQuietly(config, tokens.refreshToken);
    throw err;
  });
  const digits = self.nhsNumber?.replace(/[\s-]/g, "");
  const linkedNhs = digits && isValidNhsNumber(digits) ? digits : undefined;
  if (o.patient.nhsNumber && o.patient.nhsNumber !== linkedNhs) {
    await revokeQuietly(config, tokens.refreshToken);
    throw new HubError(
      "MISATTRIBUTION",
      `the PKB account that approved the link is not patient ${o.patient.key}'s (${
        linkedNhs ? "NHS numbers differ" : "the account has no valid NHS number"
      }): link refused, nothing stored`,
    );
  }
  // Re-linking: readings buffered meanwhile belong to the account linked before. Another account
  // would receive them, so that takes an explicit decision (pkb-hub link --new-account).
  const previous = readPrevious(o);
  if (previous && previous.pkbId !== self.id && !o.newAccount) {
    await revokeQuietly(config, tokens.refreshToken);
    throw new HubError(
      "MISATTRIBUTION",
      `patient ${o.patient.key} was linked to another PKB account before: link refused, nothing stored ` +
        "(if the patient really changed account, link again with --new-account)",
    );
  }
  const sharing = linkedElsewhere(o, self.id);
  if (sharing.length > 0 && !o.sharedAccount) {
    await revokeQuietly(config, tokens.refreshToken);
    throw new HubError(
      "MISATTRIBUTION",
      `this PKB account is already linked to patient(s) ${sharing.join(", ")}: both would deliver into one ` +
        "record. Link refused, nothing stored (if they really share one PKB record, link again with --shared-account)",
    );
  }
  if (!o.patient.nhsNumber) {
    o.logger?.warn(
      { patient: o.patient.key, acceptedUnverified: true },
      "PKB link made without NHS number verification (--accept-unverified)",
    );
  }
  const link: PatientLink = {
    patient: o.patient.key,
    state: "linked",
    accessToken: tokens.accessToken,
    ...(tokens.refreshToken ? { refreshToken: tokens.refreshToken } : {}),
    expiresAtMs: o.clock.nowMs() + tokens.expiresInSec * 1000,
    lifetimeMs: tokens.expiresInSec * 1000,
    pkbId: self.id,
    ...(linkedNhs ? { nhsNumber: linkedNhs } : {}),
    linkedAtMs: o.clock.nowMs(),
    ...(o.patient.nhsNumber ? {} : { acceptedUnverified: true as const }),
    ...(sharing.length > 0 ? { sharedAccount: true as const } : {}),
  };
  o.store.put(o.patient.key, link);
  return link;
}
