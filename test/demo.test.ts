import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { IndependentHl7 } from "../src/forward/hl7/standard.js";
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

  it("hl7 route: A19, A28, ORU and an MDM document, every captured message valid HL7 v2", () => {
    const dataDir = join(tmp.dir, "hl7");
    const capture = join(tmp.dir, "capture");
    const r = spawnSync(
      process.execPath,
      [DEMO, "--route", "hl7", "--readings", "20", "--data-dir", dataDir, "--capture-dir", capture],
      {
        encoding: "utf8",
        timeout: 60_000,
      },
    );
    expect(r.stdout.trim().split("\n").at(-1)).toBe("DEMO route=hl7 produced=20 delivered=20 dead_letter=0");
    const files = readdirSync(capture).sort();
    expect(files.slice(0, 2)).toEqual(["0001-QRY-A19.hl7", "0002-ADT-A28.hl7"]);
    expect(files.some((f) => f.endsWith("MDM-T02.hl7"))).toBe(true);
    for (const f of files) {
      const text = readFileSync(join(capture, f), "utf8");
      expect(text).not.toContain("\n");
      const m = new IndependentHl7(text);
      expect(m.get("MSH.12")).toBe("2.4");
      expect(m.get("MSH.9.1")).toMatch(/^(QRY|ADT|ORU|MDM)$/);
      expect(m.get("MSH.10")).not.toBe("");
    }
  }, 70_000);
});
