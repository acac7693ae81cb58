import { hl7Target } from "./hl7-target.js";
import { restTarget } from "./rest-target.js";
import type { ChaosRoute, ChaosRun, ChaosTarget } from "./target.js";

/** `--route rest|hl7` (rest by default) → the route and its stand-in, started. */
export function startTarget(route: ChaosRoute, run: ChaosRun, dataDir: string): Promise<ChaosTarget> {
  return route === "hl7" ? hl7Target(run, dataDir) : restTarget(run, dataDir);
}

export function routeFlag(value: string | undefined): ChaosRoute {
  const route = value ?? "rest";
  if (route !== "rest" && route !== "hl7") throw new Error(`--route ${route}: rest or hl7`);
  return route;
}
