import { join } from "node:path";
import type { AgentContext } from "../../agent/context.js";
import type { RouteComponent } from "../../agent/routes.js";
import { isSecretFileExposed, SecretBox } from "../../core/secrets.js";
import { PkbRestForwarder } from "./forwarder.js";
import { oauthConfig } from "./oauth.js";
import { TokenStore } from "./token-store.js";
import { type LinkStateListener, OAuthTokenProvider } from "./tokens.js";

export const RELINK_ALERT = "RELINK_NEEDED";
export const EXPOSED_ALERT = "PKB_SECRET_EXPOSED";

/**
 * The token store of a hub: sealed link files under <dataDir>/links, key beside them. `makeRoom`
 * (the agent's buffer reserve) is asked for space when a write finds the disk full.
 */
export function tokenStore(dataDir: string, makeRoom?: () => boolean): TokenStore {
  return new TokenStore(join(dataDir, "links"), SecretBox.open(dataDir), makeRoom);
}

/** One line per patient without a usable link, with the reason (which file, why): no PHI. */
function relinkMessage(relinking: ReadonlyMap<string, string>): string {
  const each = [...relinking]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([patient, reason]) => `${patient} (${reason})`);
  return `no usable PKB link: run pkb-hub link for patient(s): ${each.join("; ")}`;
}

/** The pkb-rest route for the agent, when the configuration has it. */
export function createPkbRestRoute(ctx: AgentContext): RouteComponent | undefined {
  const route = ctx.config.routes.pkbRest;
  if (!route || !ctx.config.patients.some((p) => p.route === "pkb-rest")) return undefined;
  const logger = ctx.logger.child({ component: "pkb-rest" });
  let forwarder: PkbRestForwarder | undefined;
  let store: TokenStore | undefined;
  const keys = ctx.config.patients.filter((p) => p.route === "pkb-rest").map((p) => p.key);
  // Local patient keys (not PHI) without a usable link, and why; one alert lists them all.
  const relinking = new Map<string, string>();
  const onLinkState: LinkStateListener = (patient, state, reason = "never linked") => {
    const before = relinking.get(patient);
    if (state === "linked" ? before === undefined : before === reason) return;
    if (state === "linked") {
      relinking.delete(patient);
      forwarder?.relinked(patient);
    } else relinking.set(patient, reason);
    if (relinking.size === 0) ctx.buffer.alerts.clear(RELINK_ALERT);
    else ctx.buffer.alerts.raise(RELINK_ALERT, relinkMessage(relinking), ctx.clock.nowMs());
  };
  return {
    name: "route:pkb-rest",
    route: "pkb-rest",
    poke: () => forwarder?.poke(),
    linkStates() {
      const states = new Map<string, string>();
      for (const key of keys) {
        try {
          states.set(key, store ? store.state(key) : "unknown");
        } catch {
          states.set(key, "unreadable");
        }
      }
      return states;
    },
    async start() {
      // Readings keep flowing (stopping would not un-expose the secret): a loud alert instead.
      if (isSecretFileExposed(route.clientSecretFile)) {
        const text =
          "routes.pkbRest.clientSecretFile is readable by other users: chmod 600 it and have the client secret changed";
        logger.warn({ alert: EXPOSED_ALERT }, text);
        ctx.buffer.alerts.raise(EXPOSED_ALERT, text, ctx.clock.nowMs());
      } else ctx.buffer.alerts.clear(EXPOSED_ALERT);
      // The client secret is read here: a missing file is a clear start-up error, not a later surprise.
      store = tokenStore(ctx.dataDir, () => ctx.buffer.makeRoom());
      const patients = ctx.config.patients.filter((p) => p.route === "pkb-rest");
      const tokens = new OAuthTokenProvider({
        store,
        config: oauthConfig(route, ctx.fetch),
        clock: ctx.clock,
        logger,
        refreshAheadSec: route.refreshAheadSec,
        patients,
        onLinkState,
      });
      forwarder = new PkbRestForwarder({
        buffer: ctx.buffer,
        clock: ctx.clock,
        logger,
        baseUrl: route.baseUrl,
        tokens,
        fetch: ctx.fetch,
        concurrency: route.concurrency,
        requestTimeoutMs: route.requestTimeoutMs,
        onAmbiguous: route.onAmbiguous,
        reconcileAfterSec: route.reconcileAfterSec,
        patients: keys,
      });
      forwarder.start();
    },
    async stop() {
      await forwarder?.stop();
    },
  };
}
