import { RELOAD_NOTE_KEY } from "../agent/agent.js";
import type { Config } from "../config/schema.js";
import { BufferView } from "./buffer-view.js";
import { runningAgentPid } from "./hub-state.js";

export type ReloadOutcome =
  | { kind: "no-agent" }
  | { kind: "not-allowed"; pid: number }
  | { kind: "applied"; pid: number }
  | { kind: "refused"; pid: number; problems: number }
  | { kind: "no-answer"; pid: number; waitedMs: number };

export interface ReloadDeps {
  pid(dataDir: string): number | undefined;
  signal(pid: number): void;
  /** The agent's note of its last reload (see Agent.noteReload). */
  note(config: Config): { atMs: number; ok: boolean; problems: number } | undefined;
  nowMs(): number;
  sleep(ms: number): Promise<void>;
}

export const systemReloadDeps: ReloadDeps = {
  pid: runningAgentPid,
  signal: (pid) => process.kill(pid, "SIGHUP"),
  note(config) {
    const view = BufferView.open(config);
    try {
      const text = view?.kvGet(RELOAD_NOTE_KEY);
      return text ? (JSON.parse(text) as { atMs: number; ok: boolean; problems: number }) : undefined;
    } finally {
      view?.close();
    }
  },
  nowMs: () => Date.now(),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

/**
 * Asks the agent running on this hub (if any) to reload its configuration (SIGHUP, as
 * `systemctl reload` does) and waits for its note saying whether it applied the change.
 */
export async function tellRunningAgent(
  config: Config,
  deps: ReloadDeps = systemReloadDeps,
  waitMs = 10_000,
): Promise<ReloadOutcome> {
  const pid = deps.pid(config.hub.dataDir);
  if (pid === undefined) return { kind: "no-agent" };
  const before = deps.note(config)?.atMs ?? Number.NEGATIVE_INFINITY;
  const sentMs = deps.nowMs();
  try {
    deps.signal(pid);
  } catch {
    return { kind: "not-allowed", pid };
  }
  for (let waited = 0; waited < waitMs; waited += 200) {
    const note = deps.note(config);
    // A second of slack: the agent stamps with its own reading of the same wall clock.
    if (note && note.atMs > before && note.atMs >= sentMs - 1000)
      return note.ok ? { kind: "applied", pid } : { kind: "refused", pid, problems: note.problems };
    await deps.sleep(200);
  }
  return { kind: "no-answer", pid, waitedMs: waitMs };
}

export function describeReload(o: ReloadOutcome, file: string): string {
  switch (o.kind) {
    case "no-agent":
      return "no agent is running on this hub: the change is used when it starts (systemctl start pkb-hub)";
    case "not-allowed":
      return `the running agent (pid ${o.pid}) was not told (this user may not signal it): run sudo systemctl reload pkb-hub`;
    case "applied":
      return `the running agent (pid ${o.pid}) reloaded the configuration and uses the change now`;
    case "refused":
      return `the running agent (pid ${o.pid}) REFUSED the new configuration (${o.problems} problem(s)) and keeps the old one: pkb-hub config check ${file}`;
    case "no-answer":
      return `the running agent (pid ${o.pid}) was asked to reload but has not answered in ${Math.round(o.waitedMs / 1000)} s: check journalctl -u pkb-hub`;
  }
}
