import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { tempDir } from "../support/tmp.js";
import { until } from "../support/wait.js";

const CLI = join(import.meta.dirname, "../../dist/src/cli/main.js");
const RECEIVER = join(import.meta.dirname, "notify-receiver.py");
const tmp = tempDir();
const started: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const c of started.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});
afterAll(() => tmp.cleanup());

interface Datagram {
  pid: number | null;
  msg: string;
}

/** A real unix datagram socket in the test's directory, like systemd's /run/systemd/notify. */
async function notifySocket(name: string): Promise<{ path: string; got: Datagram[] }> {
  const path = join(tmp.dir, `${name}.sock`);
  const child = spawn("python3", [RECEIVER, path]);
  started.push(child);
  const got: Datagram[] = [];
  let buffered = "";
  let listening = false;
  child.stdout.on("data", (c: Buffer) => {
    buffered += c.toString();
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    for (const line of lines) {
      if (line === "LISTENING") listening = true;
      else got.push(JSON.parse(line) as Datagram);
    }
  });
  await until(() => listening);
  return { path, got };
}

function agent(name: string, env: Record<string, string>, devices = ""): ChildProcessWithoutNullStreams {
  const file = join(tmp.dir, `${name}.yaml`);
  writeFileSync(
    file,
    `hub: { id: ${name}, dataDir: ${join(tmp.dir, name)} }\nclock: { mode: assume-synced }\nlog: { level: info }\n${devices}`,
    { mode: 0o600 },
  );
  const child = spawn(process.execPath, [CLI, "run", "--config", file], { env: { ...process.env, ...env } });
  started.push(child);
  return child;
}

const exited = (c: ChildProcessWithoutNullStreams) =>
  new Promise<number | null>((resolve) =>
    c.exitCode !== null ? resolve(c.exitCode) : c.on("exit", (code) => resolve(code)),
  );

describe("systemd notifications on a real NOTIFY_SOCKET", () => {
  it("READY, STATUS, watchdog pings, RELOADING/READY on SIGHUP and STOPPING on SIGTERM, all from the main pid", async () => {
    const sock = await notifySocket("main");
    const child = agent("h1", { NOTIFY_SOCKET: sock.path, WATCHDOG_USEC: "400000" });
    const fromChild = () => sock.got.filter((d) => d.pid === child.pid).map((d) => d.msg);
    await until(() => fromChild().filter((m) => m === "WATCHDOG=1").length >= 3, 20_000);
    child.kill("SIGHUP");
    await until(() => fromChild().some((m) => m.startsWith("RELOADING=1")), 10_000);
    await until(() => fromChild().filter((m) => m.startsWith("READY=1")).length >= 2, 10_000);
    child.kill("SIGTERM");
    expect(await exited(child)).toBe(0);
    // Every datagram came from the agent's own pid: NotifyAccess=main is enough.
    expect(sock.got.every((d) => d.pid === child.pid)).toBe(true);
    const kinds = fromChild().map((m) => m.split("\n")[0]);
    expect(kinds.filter((k) => k !== "WATCHDOG=1")).toEqual([
      "STATUS=starting",
      "READY=1",
      "RELOADING=1",
      "READY=1",
      "STOPPING=1",
    ]);
    // Pings only between READY and STOPPING.
    const pings = kinds.flatMap((k, i) => (k === "WATCHDOG=1" ? [i] : []));
    expect(pings.length).toBeGreaterThanOrEqual(3);
    expect(Math.min(...pings)).toBeGreaterThan(kinds.indexOf("READY=1"));
    expect(Math.max(...pings)).toBeLessThan(kinds.indexOf("STOPPING=1"));
    const ready = fromChild().find((m) => m.startsWith("READY=1")) ?? "";
    expect(ready).toBe(
      `READY=1\nSTATUS=running: 0 device(s), 0 unsent, 0 dead letter(s)\nMAINPID=${child.pid}`,
    );
    expect(fromChild().at(-1)).toBe("STOPPING=1\nSTATUS=stopping: finishing readings in flight");
  }, 60_000);

  it("child processes (socat, simulators) never inherit NOTIFY_SOCKET or the watchdog", async () => {
    const sock = await notifySocket("inherit2");
    const secret = join(tmp.dir, "secret");
    writeFileSync(secret, "s", { mode: 0o600 });
    const runner = agent(
      "h3",
      { NOTIFY_SOCKET: sock.path, WATCHDOG_USEC: "5000000" },
      [
        "patients: [{ key: p1, route: pkb-rest }]",
        `routes: { pkbRest: { baseUrl: "http://127.0.0.1:9", clientId: c, clientSecretFile: ${secret} } }`,
        "devices: [{ id: ox, driver: nonin-serial, patient: p1, simulate: true, options: { packets: 100000, packetsPerSec: 3 } }]",
        "",
      ].join("\n"),
    );
    await until(() => sock.got.some((d) => d.msg.startsWith("READY=1")), 20_000);
    const children = readdirSync(`/proc/${runner.pid}/task`).flatMap((t) =>
      readFileSync(`/proc/${runner.pid}/task/${t}/children`, "utf8").trim().split(/\s+/).filter(Boolean),
    );
    expect(children.length).toBeGreaterThan(0); // socat
    for (const pid of children) {
      const env = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
      expect(env.filter((e) => /^(NOTIFY_SOCKET|WATCHDOG_USEC|WATCHDOG_PID)=/.test(e))).toEqual([]);
    }
    runner.kill("SIGTERM");
    expect(await exited(runner)).toBe(0);
  }, 60_000);

  it("SIGHUP with a broken config keeps the running one (READY says refused, alert raised); fixed, the next SIGHUP applies it; SIGUSR2 turns on debug logs", async () => {
    const sock = await notifySocket("reload");
    const child = agent("h4", { NOTIFY_SOCKET: sock.path });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const readies = () =>
      sock.got.filter((d) => d.msg.startsWith("READY=1")).map((d) => d.msg.split("\n")[1]);
    await until(() => readies().length === 1, 20_000);
    const file = join(tmp.dir, "h4.yaml");
    const good = readFileSync(file, "utf8");
    writeFileSync(file, `${good}devices: [{ id: x, driver: no-such-driver, patient: nobody }]\n`);
    child.kill("SIGHUP");
    await until(() => readies().length === 2, 10_000);
    expect(readies()[1]).toMatch(
      /^STATUS=running: 0 device\(s\), 0 unsent, 0 dead letter\(s\), alerts: .*CONFIG_RELOAD_FAILED.*; reload refused \(\d+ problem\(s\)\)$/,
    );
    writeFileSync(file, good.replace("level: info", "level: debug"));
    child.kill("SIGHUP");
    await until(() => readies().length === 3, 10_000);
    expect(readies()[2]).toBe("STATUS=running: 0 device(s), 0 unsent, 0 dead letter(s)");
    expect(stderr).toContain('"msg":"config reload refused"');
    expect(stderr).toContain('"msg":"config reloaded"');
    writeFileSync(file, good);
    child.kill("SIGHUP");
    await until(() => readies().length === 4, 10_000);
    child.kill("SIGUSR2");
    await until(() => stderr.includes("log level changed for a bounded time"), 10_000);
    expect(stderr).toMatch(/"level":"debug","durationSec":1800,"msg":"log level changed for a bounded time"/);
    child.kill("SIGTERM");
    expect(await exited(child)).toBe(0);
  }, 60_000);
});
