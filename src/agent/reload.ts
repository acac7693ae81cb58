import { isDeepStrictEqual } from "node:util";
import type { ConfigProblem } from "../config/load.js";
import type { Config } from "../config/schema.js";

/** What a reload changes: the config to run, the parts to restart, what waits for a restart. */
export interface ReloadPlan {
  config: Config;
  restartRoutes: boolean;
  restartDevices: boolean;
  logLevelChanged: boolean;
  /** Sections that changed but only take effect when the agent restarts (kept as they were). */
  restartNeeded: string[];
}

/**
 * Sections bound at start: the hub's identity and data directory, the open buffer file and its
 * limits, the clock mode and the broker connection. A reload keeps the running values of these
 * (so the running config never claims what the agent does not do) and says a restart is needed.
 */
const FIXED = ["hub", "buffer", "clock", "monitor"] as const;

export function planReload(running: Config, next: Config): ReloadPlan {
  const restartNeeded = FIXED.filter((k) => !isDeepStrictEqual(running[k], next[k]));
  const config: Config = {
    ...next,
    hub: running.hub,
    buffer: running.buffer,
    clock: running.clock,
    monitor: running.monitor,
  };
  const patientsChanged = !isDeepStrictEqual(running.patients, next.patients);
  return {
    config,
    restartRoutes: patientsChanged || !isDeepStrictEqual(running.routes, next.routes),
    restartDevices: patientsChanged || !isDeepStrictEqual(running.devices, next.devices),
    logLevelChanged: running.log.level !== next.log.level,
    restartNeeded: [...restartNeeded],
  };
}

export type ReloadResult =
  | { ok: true; applied: string[]; restartNeeded: string[] }
  | { ok: false; problems: string[] };

/**
 * A config problem as the agent logs it and answers it over MQTT. A mistyped line can turn what
 * was meant as a value (a name, an NHS number) into a key, so unknown keys are counted, never named
 * (`pkb-hub config check` on the hub names them).
 */
export function problemText(p: ConfigProblem): string {
  const unknown = /^unknown key\(s\): (.*)$/.exec(p.message);
  const message = unknown
    ? `${unknown[1]?.split(", ").length ?? 1} unknown key(s): run pkb-hub config check on the hub to see them`
    : p.message;
  return `${p.path || "(top level)"}: ${message}`;
}
