import { statSync } from "node:fs";
import { diskFreeBytes } from "../agent/status.js";
import { BufferView } from "./buffer-view.js";
import type { DoctorProbes } from "./doctor.js";
import { listTree } from "./doctor.js";
import { linkStates, runningAgentPid } from "./hub-state.js";
import { bluetoothInfo, clockSynced, reachBroker, reachHttp } from "./probes.js";
import { lookupGroupName, serviceAccount } from "./users.js";

/** The real machine, for `pkb-hub doctor`. */
export function systemProbes(): DoctorProbes {
  const withBuffer = <T>(
    config: Parameters<DoctorProbes["links"]>[0],
    fn: (b: BufferView | undefined) => T,
  ): T => {
    const view = BufferView.open(config);
    try {
      return fn(view);
    } finally {
      view?.close();
    }
  };
  return {
    nowMs: () => Date.now(),
    clockSynced,
    diskFree: diskFreeBytes,
    stat: (p) => statSync(p, { throwIfNoEntry: false }),
    listDataDir: listTree,
    bluetooth: () => bluetoothInfo(),
    broker: (config) => reachBroker(config),
    http: (url, caFile) => reachHttp(url, caFile),
    links: (config) => withBuffer(config, (b) => linkStates(config, (k) => b?.kvGet(k))),
    lastReadings: (config) => withBuffer(config, (b) => b?.lastReadingByDevice()),
    agentPid: runningAgentPid,
    groupName: (gid) => lookupGroupName(gid),
    account: (hub) => serviceAccount(hub),
  };
}
