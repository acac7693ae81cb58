import type { Config } from "../config/schema.js";
import type { AgentContext, Component } from "./context.js";

/** A running route: delivers the outbox rows of one route name. */
export interface RouteComponent extends Component {
  readonly route: string;
  poke(): void;
  /** Link state per local patient key of this route (health and status; never PHI). */
  linkStates?(): Map<string, string>;
}

/**
 * The forwarders for the routes the configuration uses. Each route's code (OAuth and its client
 * for pkb-rest, the HL7 builder and SOAP client for hl7) is loaded only when a patient uses it:
 * a hub on one route never holds the other's in memory.
 */
export async function createRoutes(ctx: AgentContext): Promise<RouteComponent[]> {
  const uses = (route: string) => ctx.config.patients.some((p) => p.route === route);
  const routes: Array<RouteComponent | undefined> = [];
  if (ctx.config.routes.pkbRest && uses("pkb-rest")) {
    const { createPkbRestRoute } = await import("../forward/pkb-rest/route.js");
    routes.push(createPkbRestRoute(ctx));
  }
  if (ctx.config.routes.hl7 && uses("hl7")) {
    const { createHl7Route } = await import("../forward/hl7/route.js");
    routes.push(createHl7Route(ctx));
  }
  return routes.filter((r): r is RouteComponent => r !== undefined);
}

/**
 * Per route, how long a row whose send a crash cut off waits before it is tried again: the request
 * may still land at PKB, and the REST route's read-back must come after it (`reconcileAfterSec`).
 */
export function reclaimWaitsMs(config: Config): Record<string, number> {
  const rest = config.routes.pkbRest;
  return rest && rest.onAmbiguous === "reconcile" ? { "pkb-rest": rest.reconcileAfterSec * 1000 } : {};
}
