import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { tempDir } from "./support/tmp.js";

const DEMO = join(import.meta.dirname, "../dist/scripts/demo/main.js");
const tmp = tempDir("pkb-hub-demo-");
afterAll(() => tmp.cleanup());

describe("npm run demo", () => {
  it("rest route: a simulated meter's 20 readings all arrive in the stand-in, no file readable by others", () => {
    const dataDir = join(tmp.dir, "rest");
    const r = spawnSync(
      process.execPath,
      [DEMO, "--route", "rest", "--readings", "20", "--data-dir", dataDir],
      {
        encoding: "utf8",
        timeout: 60_000,
      },
    );
    const lines = r.stdout.trim().split("\n");
    expect(lines.at(-1)).toBe("DEMO route=rest produced=20 delivered=20 dead_letter=0");
    expect(r.status).toBe(0);
    for (const entry of readdirSync(dataDir, { recursive: true, withFileTypes: true })) {
      expect(statSync(join(entry.parentPath, entry.name)).mode & 0o077, entry.name).toBe(0);
    }
  }, 70_000);
});
