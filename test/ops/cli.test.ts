import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { tempDir } from "../support/tmp.js";

const ROOT = join(import.meta.dirname, "../..");
const CLI = join(ROOT, "dist/src/cli/main.js");
const tmp = tempDir();
afterAll(() => tmp.cleanup());

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI; `closeStdout` closes the reading end at once, like `| head -1` that has its line. */
function cli(args: string[], options: { closeStdout?: boolean; uid?: number } = {}): Promise<Run> {
  const child = spawn(process.execPath, [CLI, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.uid }),
  });
  let stdout = "";
  let stderr = "";
  if (options.closeStdout) child.stdout.destroy();
  else child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

function configWithDataDir(name: string, dataDir: string): string {
  const file = join(tmp.dir, `${name}.yaml`);
  writeFileSync(file, `hub: { id: h1, dataDir: "${dataDir}" }\nclock: { mode: assume-synced }\n`, {
    mode: 0o644,
  });
  return file;
}

const NO_STACK = /\n\s+at |unexpected error/;

describe("pkb-hub CLI in a shell pipeline", () => {
  it("a reader that closes the pipe early (| head -1) ends quietly: no EPIPE stack trace", async () => {
    for (const args of [["--help"], ["config", "schema"]]) {
      const r = await cli(args, { closeStdout: true });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
    }
  });

  it("--version prints the release's version from package.json", async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
    const r = await cli(["--version"]);
    expect(r).toEqual({ code: 0, stdout: `pkb-hub ${pkg.version}\n`, stderr: "" });
  });
});

describe("usage errors are exit 2 with a clear message", () => {
  it("decode --time-zone that is no IANA zone is a USAGE error, not 'unexpected error'", async () => {
    const r = await cli([
      "decode",
      "--driver",
      "ble-thermometer",
      "--hex",
      "00 6e 01 00 ff",
      "--time-zone",
      "Mars/Base",
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "pkb-hub decode: USAGE: --time-zone: unknown IANA time zone 'Mars/Base' (e.g. Europe/London)\n",
    );
  });

  it("decode --driver that does not exist is exit 2 with the known drivers", async () => {
    const r = await cli(["decode", "--driver", "nope", "--hex", "00"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^pkb-hub decode: DRIVER_UNKNOWN: unknown driver 'nope'; known: ble-blood-pressure, /,
    );
  });

  it("link --timeout-sec beyond what a timer holds (3000000) is refused instead of firing at once", async () => {
    const r = await cli(["link", "p1", "--config", join(tmp.dir, "none.yaml"), "--timeout-sec", "3000000"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "pkb-hub link: USAGE: --timeout-sec must be a number of seconds, more than 0 and at most 86400\n",
    );
  });
});

describe("a data directory the agent cannot use is DATA_DIR_UNUSABLE with the fix", () => {
  it("a data dir that is a file names the file and the fix", async () => {
    const file = join(tmp.dir, "a-file");
    writeFileSync(file, "");
    const r = await cli(["run", "--config", configWithDataDir("file", file)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `pkb-hub run: DATA_DIR_UNUSABLE: data directory ${file} cannot be made: ${file} is a file, not a directory. ` +
        "Fix: set hub.dataDir to a directory (default /var/lib/pkb-hub) or move the file away\n",
    );
    expect(r.stderr).not.toMatch(NO_STACK);
  });

  it("a data dir under /proc ends at once with DATA_DIR_UNUSABLE (no endless mkdir loop)", async () => {
    const started = Date.now();
    const r = await cli(["run", "--config", configWithDataDir("proc", "/proc/pkb-hub-test/data")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("DATA_DIR_UNUSABLE: data directory /proc/pkb-hub-test/data cannot be created");
    expect(r.stderr).toContain("Fix: set hub.dataDir to a directory on disk (default /var/lib/pkb-hub)");
    expect(Date.now() - started).toBeLessThan(10_000);
  }, 15_000);

  it.runIf(process.getuid?.() === 0)(
    "a data dir the service user cannot write says which user and how to fix it",
    async () => {
      const parent = join(tmp.dir, "root-only");
      mkdirSync(parent, { mode: 0o755 });
      chmodSync(tmp.dir, 0o755);
      const dataDir = join(parent, "data");
      const r = await cli(["run", "--config", configWithDataDir("ro", dataDir)], { uid: 65534 });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        new RegExp(
          `DATA_DIR_UNUSABLE: the agent runs as \\S+ \\(uid 65534\\) and cannot use 1 file\\(s\\): ${dataDir} does not exist, and \\S+ cannot create it in ${parent}\\. Fix: install -d -o \\S+ -m 0700 ${dataDir}`,
        ),
      );
      expect(r.stderr).not.toMatch(NO_STACK);
    },
  );
});
