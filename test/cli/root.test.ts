import { spawn, spawnSync } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { approveAs } from "../standin/pkb-browser.js";
import { startRestFixture } from "../support/pkb-rest.js";
import { tempDir } from "../support/tmp.js";

/**
 * Commands a technician runs as root must leave hub state the service account owns. These run
 * for real as root with a throwaway system account (created here, deleted after).
 */
const CLI = join(import.meta.dirname, "../../dist/src/cli/main.js");
const isRoot = process.getuid?.() === 0;
const USER = `pkbt${process.pid % 100000}`;
let uid = -1;
let gid = -1;
const tmp = tempDir();

beforeAll(() => {
  if (!isRoot) return;
  const made = spawnSync("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER], {
    encoding: "utf8",
  });
  if (made.status !== 0) throw new Error(`useradd failed: ${made.stderr}`);
  uid = Number(spawnSync("id", ["-u", USER], { encoding: "utf8" }).stdout.trim());
  gid = Number(spawnSync("id", ["-g", USER], { encoding: "utf8" }).stdout.trim());
  // The account must be able to reach the temp directory, as it reaches /etc/pkb-hub.
  chmodSync(tmp.dir, 0o755);
});
afterAll(() => {
  tmp.cleanup();
  if (isRoot) spawnSync("userdel", [USER]);
});

function cli(args: string[], options: { input?: string; asUser?: boolean } = {}) {
  return spawnSync("node", [CLI, ...args], {
    encoding: "utf8",
    input: options.input ?? "",
    timeout: 60_000,
    ...(options.asUser ? { uid, gid } : {}),
  });
}

/** The same, without blocking this process (which serves the PKB stand-in meanwhile). */
function cliAsync(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn("node", [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

/** Every entry under `dir` (itself included) with an owner other than the service account. */
function notOwned(dir: string): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    const st = statSync(p);
    if (st.uid !== uid || st.gid !== gid) out.push(`${p} (${st.uid}:${st.gid})`);
    if (st.isDirectory()) for (const n of readdirSync(p)) walk(join(p, n));
  };
  walk(dir);
  return out;
}

/** A provisioned hub: config and secrets in etc/, state in data/, owned by the service account. */
function provisioned(name: string, baseUrl = "http://127.0.0.1:9"): { dir: string; config: string } {
  const dir = join(tmp.dir, name);
  mkdirSync(dir);
  chmodSync(dir, 0o755);
  const answers = join(dir, "answers.json");
  writeFileSync(
    answers,
    JSON.stringify({
      hub: { id: "hub-1", dataDir: join(dir, "data"), user: USER },
      pkb: { environment: "custom", baseUrl, clientId: "pkb-hub-test", clientSecret: "test-secret" },
      patients: [{ key: "p1", route: "pkb-rest", nhsNumber: "9434765919" }],
    }),
  );
  const config = join(dir, "etc", "config.yaml");
  const r = cli(["provision", "--config", config, "--answers", answers, "--no-doctor"]);
  if (r.status !== 0) throw new Error(`provision failed: ${r.stderr}`);
  return { dir, config };
}

describe.runIf(isRoot)("commands run as root leave files the service account owns", () => {
  it("provision as root: config, secrets, data directory and key belong to the service account", () => {
    const { dir } = provisioned("provision");
    expect(notOwned(join(dir, "etc"))).toEqual([]);
    expect(notOwned(join(dir, "data"))).toEqual([]);
    expect(statSync(join(dir, "data", "secret.key")).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "etc", "client-secret")).mode & 0o777).toBe(0o600);
  });

  it("outbox list and retry as root: the buffer and every file SQLite makes beside it belong to the service account", () => {
    const { dir, config } = provisioned("outbox");
    expect(cli(["outbox", "list", "--config", config]).status).toBe(0);
    const retry = cli(["outbox", "retry", "--config", config, "--all"]);
    expect(retry.stderr).not.toContain("INTERNAL");
    const names = readdirSync(join(dir, "data"));
    expect(names).toContain("buffer.db");
    expect(notOwned(join(dir, "data"))).toEqual([]);
  });

  it("link as root: the key, the waiting request and the link are written as the service account", async () => {
    const f = await startRestFixture();
    try {
      const { dir, config } = provisioned("link", f.pkb.url);
      const first = await cliAsync(["link", "p1", "--config", config, "--mode", "paste"]);
      expect(first.stderr).toBe("");
      expect(first.status).toBe(0);
      const url = first.stdout.split("\n").find((l) => l.includes("/apiAuthorize.action?")) ?? "";
      const back = await approveAs(new URL(url), "pkb-ann");
      const second = await cliAsync(["link", "p1", "--config", config, "--redirect-url", back.href]);
      expect(second.stderr).toBe("");
      expect(second.stdout).toContain("linked patient p1 (PKB account pkb-ann)");
      expect(readdirSync(join(dir, "data", "links"))).toEqual(["p1.link"]);
      expect(notOwned(join(dir, "data"))).toEqual([]);
    } finally {
      await f.close();
    }
  });

  it("devices pair as root keeps the config the service account's", () => {
    const { dir, config } = provisioned("pair");
    const r = cli([
      "devices",
      "pair",
      "m",
      "--driver",
      "contour-serial",
      "--patient",
      "p1",
      "--config",
      config,
    ]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(notOwned(join(dir, "etc"))).toEqual([]);
  });

  it("the agent meeting root-owned files names each file, its account and the fix — never INTERNAL", () => {
    const { dir, config } = provisioned("agent");
    // What an older `pkb-hub link` or a hand copy as root left behind.
    mkdirSync(join(dir, "data", "links"), { mode: 0o700 });
    chownSync(join(dir, "data", "links"), uid, gid);
    writeFileSync(join(dir, "data", "links", "p1.link"), "v2.x.y.z", { mode: 0o600 });
    writeFileSync(join(dir, "data", "buffer.db"), "", { mode: 0o600 });
    chownSync(join(dir, "etc", "client-secret"), 0, 0);
    const r = cli(["run", "--config", config], { asUser: true });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      `DATA_DIR_UNUSABLE: the agent runs as ${USER} (uid ${uid}) and cannot use 3 file(s): `,
    );
    expect(r.stderr).toContain(`${join(dir, "data", "buffer.db")} (owner uid 0, mode 600)`);
    expect(r.stderr).toContain(`${join(dir, "data", "links", "p1.link")} (owner uid 0, mode 600)`);
    expect(r.stderr).toContain(`${join(dir, "etc", "client-secret")} (routes.pkbRest.clientSecretFile)`);
    expect(r.stderr).toContain(
      `Fix: sudo chown -R ${USER}: ${join(dir, "data")} && sudo chown ${USER} ${join(dir, "etc", "client-secret")}`,
    );
    expect(r.stderr).not.toContain("INTERNAL");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("a secret file the account cannot read names the file, the account and the fix", () => {
    const { dir, config } = provisioned("secret");
    chownSync(join(dir, "etc", "client-secret"), 0, 0);
    // `link` run as the service account itself (not root) meets the root-owned client secret.
    const r = cli(["link", "p1", "--config", config, "--mode", "paste"], { asUser: true });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      `cannot read secret file ${join(dir, "etc", "client-secret")}: EACCES: permission denied, open '${join(dir, "etc", "client-secret")}' (read as ${USER}). Fix: sudo chown ${USER} ${join(dir, "etc", "client-secret")} && sudo chmod 600 ${join(dir, "etc", "client-secret")}`,
    );
  });
});
