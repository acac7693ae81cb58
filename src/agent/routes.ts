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
