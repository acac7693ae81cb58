import type * as client from "openid-client";
import type { PatientConfig } from "../../config/schema.js";
import type { Clock } from "../../core/clock.js";
import { HubError, isHubError, messageOf } from "../../core/errors.js";
import type { Logger } from "../../core/log.js";
import type { TokenProvider } from "./forwarder.js";
import { linkIdentityProblem } from "./identity.js";
import { refreshTokens } from "./oauth.js";
import type { PatientLink, TokenStore } from "./token-store.js";

export type LinkStateListener = (patient: string, state: "linked" | "relink-needed", reason?: string) => void;

export interface OAuthTokenProviderOptions {
  store: TokenStore;
  config: client.Configuration;
  clock: Clock;
  logger: Logger;
  refreshAheadSec: number;
  /** The configured patients: each link is checked against its patient (NHS number) before use. */
  patients: readonly PatientConfig[];
  /** Told when a patient's link state (or the reason it is unusable) is seen, for alerts and health. */
  onLinkState?: LinkStateListener;
}

type Usable = { link: PatientLink } | { problem: string };

/**
 * Tokens from the patient's OAuth link: refreshed ahead of expiry, one refresh at a time per
 * patient, the new tokens persisted durably before the new access token is used. A refused refresh
 * marks the link `relink-needed` (persisted): readings keep buffering until a technician re-links.
 * A link that cannot be opened, or no longer matches its configured patient, is never used: the
 * relink alert says which and why.
 */
export class OAuthTokenProvider implements TokenProvider {
  private readonly inFlight = new Map<string, Promise<string>>();
  private readonly store: TokenStore;
  private readonly config: client.Configuration;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly refreshAheadSec: number;
  private readonly patients: ReadonlyMap<string, PatientConfig>;
  private readonly onLinkState: LinkStateListener;
  /**
   * Tokens PKB issued that could not be saved (the disk was full): PKB may already have retired the
   * refresh token on disk, so these are the only ones that work. Used, and saved again, on every use
   * until a save succeeds; dropped when a technician re-links meanwhile.
   */
  private readonly unsaved = new Map<string, PatientLink>();

  constructor(o: OAuthTokenProviderOptions) {
    this.store = o.store;
    this.config = o.config;
    this.clock = o.clock;
    this.logger = o.logger;
    this.refreshAheadSec = o.refreshAheadSec;
    this.patients = new Map(o.patients.map((p) => [p.key, p]));
    this.onLinkState = o.onLinkState ?? (() => {});
  }

  /** The patient's link if it may be used now, else why not (no PHI in the reason). */
  private usableLink(patient: string): Usable {
    let link: PatientLink | undefined;
    try {
      link = this.store.get(patient);
    } catch (err) {
      return { problem: messageOf(err) };
    }
    link = this.withUnsaved(patient, link);
    if (!link) return { problem: "never linked" };
    if (link.state !== "linked")
      return { problem: "PKB refused the link's refresh token (revoked or expired)" };
    const problem = linkIdentityProblem(this.patients.get(patient), link);
    return problem ? { problem } : { link };
  }

  /** The stored link, or the newer tokens not yet saved over it (saved now if the disk has room). */
  private withUnsaved(patient: string, stored: PatientLink | undefined): PatientLink | undefined {
    const pending = this.unsaved.get(patient);
    if (!pending) return stored;
    if (stored?.linkedAtMs !== pending.linkedAtMs) {
      this.unsaved.delete(patient); // re-linked meanwhile: the new link wins
      return stored;
    }
    try {
      this.store.replace(patient, pending.linkedAtMs, pending);
      this.unsaved.delete(patient);
      this.logger.warn({ patient }, "rotated PKB tokens saved after an earlier failure");
    } catch {
      // still no room: keep using them from memory
    }
    return pending;
  }

  /** Reports the state, and throws RELINK_NEEDED with the reason when the link may not be used. */
  private linkOrThrow(patient: string): PatientLink {
    const usable = this.usableLink(patient);
    if ("problem" in usable) {
      this.onLinkState(patient, "relink-needed", usable.problem);
      throw new HubError("RELINK_NEEDED", `patient ${patient} has no usable PKB link: ${usable.problem}`);
    }
    this.onLinkState(patient, "linked");
    if (usable.link.unbound) this.bind(patient, usable.link);
    return usable.link;
  }

  /** An older, unbound link file that the NHS number verified is sealed again, bound to its patient. */
  private bind(patient: string, link: PatientLink): void {
    try {
      if (this.store.replace(patient, link.linkedAtMs, link))
        this.logger.info({ patient }, "PKB link file re-sealed, bound to its patient");
    } catch (err) {
      // Still usable this time (verified); the next use tries again.
      this.logger.warn(
        { patient, code: isHubError(err) ? err.code : "unknown" },
        "PKB link file not re-sealed",
      );
    }
  }

  /**
   * True when the patient has a link that may give a token: linked, not waiting for a re-link, and
   * still this patient's. A patient never linked counts as needing a link (the alert says so)
   * without any reading tried.
   */
  usable(patient: string): boolean {
    try {
      this.linkOrThrow(patient);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Whether the access token is still good enough to use. It is refreshed `refreshAheadSec` before
   * expiry, but never earlier than half its lifetime: a token living shorter than refreshAheadSec
   * (PKB's lifetime is its own) would otherwise be refreshed for every single reading.
   */
  private fresh(link: PatientLink): boolean {
    const aheadMs = this.refreshAheadSec * 1000;
    const clamped = link.lifetimeMs === undefined ? aheadMs : Math.min(aheadMs, link.lifetimeMs / 2);
    return link.expiresAtMs - clamped > this.clock.nowMs();
  }

  async accessToken(patient: string): Promise<string> {
    const link = this.linkOrThrow(patient);
    if (this.fresh(link)) return link.accessToken;
    return this.refresh(patient, link.accessToken);
  }

  refresh(patient: string, refused: string): Promise<string> {
    const running = this.inFlight.get(patient);
    if (running) return running;
    const p = this.doRefresh(patient, refused).finally(() => this.inFlight.delete(patient));
    this.inFlight.set(patient, p);
    return p;
  }

  private async doRefresh(patient: string, refused: string): Promise<string> {
    const link = this.linkOrThrow(patient);
    // Someone else already refreshed since this token was handed out.
    if (link.accessToken !== refused && this.fresh(link)) {
      return link.accessToken;
    }
    if (!link.refreshToken) return this.markRelink(patient, link, "no refresh token");
    let tokens: Awaited<ReturnType<typeof refreshTokens>>;
    try {
      tokens = await refreshTokens(this.config, link.refreshToken);
    } catch (err) {
      if (isHubError(err, "RELINK_NEEDED")) return this.markRelink(patient, link, "refresh refused");
      this.logger.warn({ patient, code: isHubError(err) ? err.code : "unknown" }, "PKB token refresh failed");
      throw err;
    }
    const renewed: PatientLink = {
      ...link,
      accessToken: tokens.accessToken,
      // PKB's rotation behaviour is unknown: keep whichever refresh token is newest.
      refreshToken: tokens.refreshToken ?? link.refreshToken,
      expiresAtMs: this.clock.nowMs() + tokens.expiresInSec * 1000,
      lifetimeMs: tokens.expiresInSec * 1000,
    };
    // Durable before the new access token is used: a rotated refresh token is only in memory when
    // the disk refuses it, and then it is kept (PKB may have retired the old one) and saved later.
    try {
      if (!this.store.replace(patient, link.linkedAtMs, renewed)) return this.relinkedMeanwhile(patient);
      this.unsaved.delete(patient);
    } catch (err) {
      this.unsaved.set(patient, renewed);
      this.logger.error(
        { patient, code: isHubError(err) ? err.code : ((err as { code?: unknown }).code ?? "unknown") },
        "rotated PKB tokens could not be saved (is the disk full?): kept in memory, saved on next use",
      );
    }
    return tokens.accessToken;
  }

  /** Persists `relink-needed` (unless a technician re-linked meanwhile) and raises the alert. */
  private markRelink(patient: string, link: PatientLink, why: string): Promise<string> {
    if (!this.store.replace(patient, link.linkedAtMs, { ...link, state: "relink-needed" }))
      return this.relinkedMeanwhile(patient);
    this.onLinkState(patient, "relink-needed", `PKB refused the link's refresh token (${why})`);
    this.logger.error(
      { patient, alert: "RELINK_NEEDED", why },
      "PKB link revoked or expired: the patient must re-link",
    );
    throw new HubError("RELINK_NEEDED", `the patient must re-link the hub to PKB (${why})`);
  }

  /** The link was replaced while refreshing (pkb-hub link ran): its fresh access token is used. */
  private relinkedMeanwhile(patient: string): Promise<string> {
    this.logger.info({ patient }, "PKB link was renewed during a token refresh; using the new link");
    return Promise.resolve(this.linkOrThrow(patient).accessToken);
  }
}
