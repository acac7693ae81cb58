import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import type { ConfigInput } from "../../src/config/schema.js";

/**
 * The built CLI, whether this file runs built (dist/scripts/chaos) or from source under vitest
 * (scripts/chaos: the suites spawn the build `npm test` makes first).
 */
const BUILT = join(import.meta.dirname, "../../src/cli/main.js");
export const AGENT_CLI = existsSync(BUILT) ? BUILT : join(import.meta.dirname, "../../dist/src/cli/main.js");

/**
 * The agent as a supervised process (what systemd does on a hub): started with a config file, in
 * its own process group (a kill takes its children — socat, simulators — too), restarted when it
 * exits without being asked to, and every such exit counted as a crash.
 */
export class AgentProcess {
  private child: ChildProcess | undefined;
  private stopping = false;
  /** Exits nobody asked for (a crash, an exception, an exit with an error). */
  crashes = 0;
  readonly exitCodes: Array<number | string | null> = [];

  constructor(
    private readonly configFile: string,
    /** Where the agent's stdout and stderr go (appended); ignored when undefined. */
    private readonly logFile?: string,
    private readonly restartDelayMs = 500,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Writes the config the next start reads (0600: it may name secret files). */
  writeConfig(input: ConfigInput): void {
    writeFileSync(this.configFile, stringify(input), { mode: 0o600 });
  }

  start(): void {
    this.stopping = false;
    const fd = this.logFile ? openSync(this.logFile, "a") : undefined;
    const out = fd ?? "ignore";
    const child = spawn(process.execPath, [AGENT_CLI, "run", "--config", this.configFile], {
      stdio: ["ignore", out, out],
      detached: true,
    });
    if (fd !== undefined) closeSync(fd);
    this.child = child;
    child.once("exit", (code, signal) => {
      this.exitCodes.push(code ?? signal);
      if (this.child !== child) return;
      this.child = undefined;
      if (this.stopping) return;
      this.crashes++;
      setTimeout(() => {
        if (!this.stopping && this.child === undefined) this.start();
      }, this.restartDelayMs);
    });
  }

  /** Stops it (SIGTERM to its group, SIGKILL after `graceMs`) and waits for the exit. */
  async stop(graceMs = 15_000): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    process.kill(-child.pid, "SIGTERM");
    const timer = setTimeout(() => {
      this.crashes++; // did not stop when asked: as bad as a crash
      if (child.pid) process.kill(-child.pid, "SIGKILL");
    }, graceMs);
    await exited;
    clearTimeout(timer);
  }

  /** Last resort (a harness failing half-way): no agent or child of it is left behind. */
  kill(): void {
    this.stopping = true;
    if (this.child?.pid) {
      try {
        process.kill(-this.child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
}
