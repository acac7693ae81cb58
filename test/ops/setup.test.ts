import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { tempDir } from "../support/tmp.js";

const ROOT = join(import.meta.dirname, "../..");
const tmp = tempDir();
afterAll(() => tmp.cleanup());

/**
 * scripts/setup.sh in a copy of the project, with npm and apt-get replaced by scripts that only
 * write down how they were called (npm ci creates node_modules, as the real one does).
 */
function project() {
  const dir = join(tmp.dir, "project");
  const bin = join(tmp.dir, "bin");
  const log = join(tmp.dir, "calls.log");
  mkdirSync(join(dir, "scripts"), { recursive: true });
  mkdirSync(bin, { recursive: true });
  copyFileSync(join(ROOT, "scripts/setup.sh"), join(dir, "scripts/setup.sh"));
  writeFileSync(join(dir, "package-lock.json"), '{"lockfileVersion":3,"v":1}\n');
  for (const tool of ["npm", "apt-get"]) {
    writeFileSync(
      join(bin, tool),
      `#!/bin/sh\necho "${tool} $*" >> "${log}"\n[ "$1" = ci ] && mkdir -p node_modules\nexit 0\n`,
    );
    chmodSync(join(bin, tool), 0o755);
  }
  // Every system package counts as present, whatever this machine has installed.
  writeFileSync(join(bin, "dpkg-query"), "#!/bin/sh\necho 'install ok installed'\n");
  chmodSync(join(bin, "dpkg-query"), 0o755);
  const setup = (): string[] => {
    rmSync(log, { force: true });
    const r = spawnSync("bash", ["scripts/setup.sh"], {
      cwd: dir,
      encoding: "utf8",
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
    });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    return existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : [];
  };
  return { dir, setup };
}

describe("scripts/setup.sh", () => {
  it("runs npm ci only when package-lock.json changed, and apt-get not at all when the packages are present", () => {
    const p = project();
    expect(p.setup()).toEqual(["npm ci --no-audit --no-fund --loglevel=error", "npm run build --silent"]);
    expect(p.setup()).toEqual(["npm run build --silent"]);
    writeFileSync(join(p.dir, "package-lock.json"), '{"lockfileVersion":3,"v":2}\n');
    expect(p.setup()).toEqual(["npm ci --no-audit --no-fund --loglevel=error", "npm run build --silent"]);
    expect(p.setup()).toEqual(["npm run build --silent"]);
    // node_modules removed by hand: installed again.
    rmSync(join(p.dir, "node_modules"), { recursive: true });
    expect(p.setup()).toEqual(["npm ci --no-audit --no-fund --loglevel=error", "npm run build --silent"]);
  });
});
