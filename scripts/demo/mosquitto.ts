/**
 * A real Mosquitto on a free loopback port, for the demo's embedded broker and the monitor's test
 * suites: plain, TLS (optionally requiring client certificates), password file, ACL file.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { userInfo } from "node:os";
import { join } from "node:path";

export interface MosquittoOptions {
  /** Where its config (and nothing else: persistence is off) is written. */
  dir: string;
  port?: number;
  tls?: { caFile: string; certFile: string; keyFile: string; requireCertificate?: boolean };
  passwordFile?: string;
  aclFile?: string;
  /** Extra lines for mosquitto.conf (e.g. max_inflight_messages). */
  extra?: string[];
}

export interface Mosquitto {
  readonly port: number;
  readonly url: string;
  /** Stops it (SIGTERM) and waits for the exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same config (retained messages are gone). */
  restart(): Promise<void>;
  /** Holds it (SIGSTOP): connections stay open but nothing is answered — a broker that hangs. */
  pause(): void;
  resume(): void;
}

/** A port nothing listens on now (never 1883: a system broker may run there). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port > 0 && port !== 1883 ? resolve(port) : freePort().then(resolve, reject)));
    });
  });
}

function configText(o: MosquittoOptions, port: number): string {
  const lines = [
    `listener ${port} 127.0.0.1`,
    // When run as root, mosquitto would drop to a `mosquitto` user that cannot read our temp files.
    `user ${userInfo().username}`,
    "persistence false",
    "log_dest stderr",
    "log_type error",
    "log_type warning",
    "log_type notice",
    "log_type information",
    `allow_anonymous ${o.passwordFile || o.tls?.requireCertificate ? "false" : "true"}`,
  ];
  if (o.passwordFile) lines.push(`password_file ${o.passwordFile}`);
  if (o.aclFile) lines.push(`acl_file ${o.aclFile}`);
  if (o.tls) {
    lines.push(`cafile ${o.tls.caFile}`, `certfile ${o.tls.certFile}`, `keyfile ${o.tls.keyFile}`);
    if (o.tls.requireCertificate) lines.push("require_certificate true", "use_identity_as_username true");
  }
  lines.push(...(o.extra ?? []));
  return `${lines.join("\n")}\n`;
}

function launch(conf: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn("mosquitto", ["-c", conf], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`mosquitto did not start: ${output.slice(-500)}`));
    }, 10_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/mosquitto version \S+ running/.test(output)) {
        clearTimeout(timer);
        child.stdout?.removeAllListeners("data");
        child.stdout?.resume();
        child.stderr?.resume();
        resolve(child);
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`mosquitto exited (${code}): ${output.slice(-500)}`));
    });
  });
}

export async function startMosquitto(o: MosquittoOptions): Promise<Mosquitto> {
  const port = o.port ?? (await freePort());
  const conf = join(o.dir, `mosquitto-${port}.conf`);
  writeFileSync(conf, configText(o, port), { mode: 0o600 });
  return startMosquittoWith(conf, `${o.tls ? "mqtts" : "mqtt"}://127.0.0.1:${port}`);
}

/** A mosquitto on a config file written by the caller (e.g. the shipped example, adapted); `url` is where it listens. */
export async function startMosquittoWith(conf: string, url: string): Promise<Mosquitto> {
  const port = Number(new URL(url).port);
  let child: ChildProcess | undefined = await launch(conf);
  const stop = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once("exit", r));
    c.kill("SIGCONT");
    c.kill("SIGTERM");
    await exited;
  };
  return {
    port,
    url,
    stop,
    async restart() {
      await stop();
      child = await launch(conf);
    },
    pause: () => child?.kill("SIGSTOP"),
    resume: () => child?.kill("SIGCONT"),
  };
}
