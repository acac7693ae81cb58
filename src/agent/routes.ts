import type { Config } from "../config/schema.js";
import { createHl7Route } from "../forward/hl7/route.js";
import { createPkbRestRoute } from "../forward/pkb-rest/route.js";
import type { AgentContext, Component } from "./context.js";

/** A running route: delivers the outbox rows of one route name. */
export interface RouteComponent extends Component {
  readonly route: string;
  poke(): void;
  /** Link state per local patient key of this route (health and status; never PHI). */
  linkStates?(): Map<string, string>;
}

/** The forwarders for the routes the configuration uses. Each route adds its factory here. */
export function createRoutes(ctx: AgentContext): RouteComponent[] {
  return [createPkbRestRoute(ctx), createHl7Route(ctx)].filter((r): r is RouteComponent => r !== undefined);
}

/**
 * Per route, how long a row whose send a crash cut off waits before it is tried again: the request
 * may still land at PKB, and the REST route's read-back must come after it (`reconcileAfterSec`).
 */
export function reclaimWaitsMs(config: Config): Record<string, number> {
  const rest = config.routes.pkbRest;
  return rest && rest.onAmbiguous === "reconcile" ? { "pkb-rest": rest.reconcileAfterSec * 1000 } : {};
}
