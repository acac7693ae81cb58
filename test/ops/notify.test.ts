import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { SystemdNotify, watchdogMs } from "../../src/agent/notify.js";
import { bufferAnswers } from "../../src/agent/service.js";
import { createLogger } from "../../src/core/log.js";
import { makeBuffer } from "../support/buffer.js";
import { tempDir } from "../support/tmp.js";

const tmp = tempDir();
afterEach(() => {
  vi.useRealTimers();
});

function capture() {
  const sent: string[] = [];
  const logs: Array<{ level: number; msg: string }> = [];
  const logger = createLogger({
    level: "info",
    destination: { write: (l: string) => logs.push(JSON.parse(l)) },
  });
  const connect = async (path: string) => {
    sent.push(`connect ${path}`);
    return { send: (m: string) => sent.push(m), close: () => sent.push("close") };
  };
  return { sent, logs, logger, connect };
}

describe("sd_notify", () => {
  it("reads the watchdog interval as sd_watchdog_enabled does (another WATCHDOG_PID: not ours)", () => {
    expect(watchdogMs({ WATCHDOG_USEC: "30000000" }, 42)).toBe(30_000);
    expect(watchdogMs({ WATCHDOG_USEC: "30000000", WATCHDOG_PID: "42" }, 42)).toBe(30_000);
    expect(watchdogMs({ WATCHDOG_USEC: "30000000", WATCHDOG_PID: "43" }, 42)).toBeUndefined();
    expect(watchdogMs({ WATCHDOG_USEC: "junk" }, 42)).toBeUndefined();
    expect(watchdogMs({}, 42)).toBeUndefined();
  });

  it("takes NOTIFY_SOCKET and the watchdog out of the environment children inherit; without it sends nothing", async () => {
    const c = capture();
    const env: Record<string, string | undefined> = {
      NOTIFY_SOCKET: "/run/x.sock",
      WATCHDOG_USEC: "1000000",
      PATH: "/bin",
    };
    const n = await SystemdNotify.fromEnv(env, c.logger, c.connect);
    expect(env).toEqual({ PATH: "/bin" });
    expect(n.enabled).toBe(true);
    expect(n.watchdogIntervalMs).toBe(1000);
    n.status("two\nlines");
    expect(c.sent).toEqual(["connect /run/x.sock", "STATUS=two lines"]);
    const off = await SystemdNotify.fromEnv({}, c.logger, c.connect);
    off.ready("x");
    expect(off.enabled).toBe(false);
    expect(c.sent).toHaveLength(2);
  });

  it("an abstract NOTIFY_SOCKET is reported, not silently ignored", async () => {
    const c = capture();
    const n = await SystemdNotify.fromEnv({ NOTIFY_SOCKET: "@/org/x" }, c.logger, c.connect);
    expect(n.enabled).toBe(false);
    expect(c.logs.map((l) => [l.level, l.msg])).toEqual([
      [50, "NOTIFY_SOCKET is not a file-system path; systemd will not hear READY"],
    ]);
  });

  it("withholds watchdog pings while the agent is unhealthy, says so once, and resumes when it recovers", async () => {
    vi.useFakeTimers();
    const c = capture();
    const n = await SystemdNotify.fromEnv(
      { NOTIFY_SOCKET: "/s", WATCHDOG_USEC: "1000000" },
      c.logger,
      c.connect,
    );
    let healthy = true;
    n.startWatchdog(() => healthy);
    vi.advanceTimersByTime(1000); // pings at 0, 500, 1000
    healthy = false;
    vi.advanceTimersByTime(2000);
    healthy = true;
    vi.advanceTimersByTime(500);
    n.stopping();
    vi.advanceTimersByTime(2000);
    expect(c.sent.slice(1)).toEqual([
      "WATCHDOG=1",
      "WATCHDOG=1",
      "WATCHDOG=1",
      "WATCHDOG=1",
      "STOPPING=1\nSTATUS=stopping: finishing readings in flight",
    ]);
    expect(c.logs.map((l) => l.msg)).toEqual([
      "agent unhealthy (buffer not answering): watchdog pings withheld, systemd will restart it",
      "health back: watchdog pings resumed",
    ]);
  });

  it("the buffer answers while open, and no longer once closed (the watchdog then stops pinging)", () => {
    const { buffer } = makeBuffer(join(tmp.dir, "b"));
    expect(bufferAnswers(buffer)).toBe(true);
    buffer.close();
    expect(bufferAnswers(buffer)).toBe(false);
  });
});
