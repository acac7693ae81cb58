import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The built CLI (`npx tsc -p tsconfig.build.json` first). */
export const CLI = join(import.meta.dirname, "../../dist/src/cli/main.js");

/**
 * Runs the built `pkb-hub config check` on config/example.yaml with one text replaced (the
 * replacement must apply), written 0600 into `dir`. Returns the exit status and what was printed.
 */
export function configCheckExample(
  dir: string,
  from: string,
  to: string,
): { status: number | null; stdout: string; stderr: string } {
  const example = readFileSync(join(import.meta.dirname, "../../config/example.yaml"), "utf8");
  if (!example.includes(from)) throw new Error(`config/example.yaml has no '${from}'`);
  const file = join(dir, "edited.yaml");
  writeFileSync(file, example.replace(from, to), { mode: 0o600 });
  const r = spawnSync("node", [CLI, "config", "check", file], { encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
