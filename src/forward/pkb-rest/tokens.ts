import type * as client from "openid-client";
import type { Clock } from "../../core/clock.js";
import { HubError, isHubError } from "../../core/errors.js";
import type { Logger } from "../../core/log.js";
import type { TokenProvider } from "./forwarder.js";
import { refreshTokens } from "./oauth.js";
import type { PatientLink, TokenStore } from "./token-store.js";

/**
 * Tokens from the patient's OAuth link: refreshed ahead of expiry, one refresh at a time per
 * patient, the new tokens persisted durably before the new access token is used. A refused refresh
 * marks the link `relink-needed` (persisted): readings keep buffering until a technician re-links.
 */
export class OAuthTokenProvider implements TokenProvider {
  private readonly inFlight = new Map<string, Promise<string>>();

  constructor(
    private readonly store: TokenStore,
    private readonly config: client.Configuration,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly refreshAheadSec: number,
    /** Told when a patient's link state is seen to change (alerts, health). */
    private readonly onLinkState: (patient: string, state: "linked" | "relink-needed") => void = () => {},
  ) {}

  /**
   * True when the patient has a link that may give a token: linked, not waiting for a re-link.
   * A patient never linked counts as needing a link (the alert says so) without any reading tried.
   */
  usable(patient: string): boolean {
    let linked: boolean;
    try {
      linked = this.store.state(patient) === "linked";
    } catch {
      // An unreadable link file is reported by accessToken() when a reading is tried.
      return true;
    }
    this.onLinkState(patient, linked ? "linked" : "relink-needed");
    return linked;
  }

  async accessToken(patient: string): Promise<string> {
    const link = this.store.get(patient);
    if (link?.state !== "linked") {
      this.onLinkState(patient, "relink-needed");
      throw new HubError("RELINK_NEEDED", "patient is not linked to PKB");
    }
    this.onLinkState(patient, "linked");
    if (link.expiresAtMs - this.refreshAheadSec * 1000 > this.clock.nowMs()) return link.accessToken;
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
    const link = this.store.get(patient);
    if (link?.state !== "linked") throw new HubError("RELINK_NEEDED", "patient is not linked to PKB");
    // Someone else already refreshed since this token was handed out.
    if (link.accessToken !== refused && link.expiresAtMs - this.refreshAheadSec * 1000 > this.clock.nowMs()) {
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
    };
    // Durable before the new access token is used: a rotated refresh token is never only in memory.
    if (!this.store.replace(patient, link.linkedAtMs, renewed)) return this.relinkedMeanwhile(patient);
    return tokens.accessToken;
  }

  /** Persists `relink-needed` (unless a technician re-linked meanwhile) and raises the alert. */
  private markRelink(patient: string, link: PatientLink, why: string): Promise<string> {
    if (!this.store.replace(patient, link.linkedAtMs, { ...link, state: "relink-needed" }))
      return this.relinkedMeanwhile(patient);
    this.onLinkState(patient, "relink-needed");
    this.logger.error(
      { patient, alert: "RELINK_NEEDED", why },
      "PKB link revoked or expired: the patient must re-link",
    );
    throw new HubError("RELINK_NEEDED", `the patient must re-link the hub to PKB (${why})`);
  }

  /** The link was replaced while refreshing (pkb-hub link ran): its fresh access token is used. */
  private relinkedMeanwhile(patient: string): Promise<string> {
    this.logger.info({ patient }, "PKB link was renewed during a token refresh; using the new link");
    const link = this.store.get(patient);
    if (link?.state !== "linked") throw new HubError("RELINK_NEEDED", "patient is not linked to PKB");
    return Promise.resolve(link.accessToken);
  }
}
