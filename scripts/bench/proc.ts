import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { sleep } from "./common.js";

const RECEIVER = join(import.meta.dirname, "../../../test/ops/notify-receiver.py");
const UNIT = join(import.meta.dirname, "../../../systemd/pkb-hub.service");

/** The service unit's Environment= settings: the agent is measured as systemd runs it. */
export function unitEnvironment(unit = UNIT): Record<string, string> {
  const env: Record<string, string> = {};
  for (const m of readFileSync(unit, "utf8").matchAll(/^Environment=([A-Za-z_]+)=(.*)$/gm))
    env[m[1] as string] = m[2] as string;
  return env;
}

/** systemd's notify socket, as the ops tests stand it in: every datagram with the sender's pid. */
export interface NotifySocket {
  path: string;
  /** Resolves with the time READY=1 arrived from `pid` (performance.now()). */
  ready(pid: number, timeoutMs: number): Promise<number>;
  stop(): void;
}

export async function notifySocket(path: string): Promise<NotifySocket> {
  const child = spawn("python3", [RECEIVER, path]);
  const got: Array<{ pid: number | null; msg: string; at: number }> = [];
  let buffered = "";
  let listening = false;
  child.stdout.on("data", (c: Buffer) => {
    const at = performance.now();
    buffered += c.toString();
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    for (const line of lines) {
      if (line === "LISTENING") listening = true;
      else got.push({ ...(JSON.parse(line) as { pid: number | null; msg: string }), at });
    }
  });
  while (!listening) await sleep(10);
  return {
    path,
    async ready(pid, timeoutMs) {
      const end = performance.now() + timeoutMs;
      for (;;) {
        const hit = got.find((d) => d.pid === pid && d.msg.startsWith("READY=1"));
        if (hit) return hit.at;
        if (performance.now() > end) throw new Error("the agent did not report READY=1 in time");
        await sleep(2);
      }
    },
    stop: () => child.kill("SIGKILL"),
  };
}

/** `pkb-hub run` from the build, as systemd starts it (the unit's environment, NOTIFY_SOCKET), output discarded. */
export function spawnAgent(cli: string, configFile: string, notify: string): ChildProcessWithoutNullStreams {
  const child = spawn(process.execPath, [cli, "run", "--config", configFile], {
    env: { ...process.env, ...unitEnvironment(), NOTIFY_SOCKET: notify },
  });
  child.stdout.resume();
  child.stderr.resume();
  return child;
}

export async function stopAgent(child: ChildProcessWithoutNullStreams): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}

/** A field of /proc/<pid>/status in MiB (VmRSS: resident now; VmHWM: the peak so far). */
export function statusMb(pid: number, field: "VmRSS" | "VmHWM"): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : 0;
}

/** Bytes this process caused to be written to storage (/proc/<pid>/io write_bytes). */
export function writeBytes(pid: number): number {
  const m = /^write_bytes:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/io`, "utf8"));
  return m ? Number(m[1]) : 0;
}
