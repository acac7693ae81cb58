import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../..");
const CLI = join(ROOT, "dist/src/cli/main.js");

/** Runs the built CLI; `closeStdout` closes the reading end at once, like `| head -1` that has its line. */
function cli(
  args: string[],
  closeStdout = false,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  if (closeStdout) child.stdout.destroy();
  else child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

describe("pkb-hub CLI in a shell pipeline", () => {
  it("a reader that closes the pipe early (| head -1) ends quietly: no EPIPE stack trace", async () => {
    for (const args of [["--help"], ["config", "schema"]]) {
      const r = await cli(args, true);
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
