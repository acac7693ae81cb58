import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { tempDir } from "../support/tmp.js";

const DEMO = join(import.meta.dirname, "../../dist/scripts/demo/main.js");
const tmp = tempDir("pkb-hub-demo-ops-");
afterAll(() => tmp.cleanup());

function demo(args: string[]): { status: number | null; last: string | undefined; stdout: string } {
  const r = spawnSync(process.execPath, [DEMO, ...args], { encoding: "utf8", timeout: 120_000 });
  return { status: r.status, last: r.stdout.trim().split("\n").at(-1), stdout: r.stdout };
}

describe("the demo never stops early and shows duplicate suppression", () => {
  it("hl7 demo with a slow meter waits for its last reading: the delivered document is not counted as one", () => {
    // 400 ms a frame: each reading (and the document) is delivered before the next record arrives.
    const r = demo([
      "--route",
      "hl7",
      "--readings",
      "5",
      "--meter-delay-ms",
      "400",
      "--data-dir",
      join(tmp.dir, "slow"),
    ]);
    expect(r.last).toBe("DEMO route=hl7 produced=5 delivered=5 dead_letter=0");
    expect(r.status).toBe(0);
  }, 130_000);

  it("a re-run on the same data dir: the simulated meter sends the same records again, all recognised as duplicates, none sent twice", () => {
    const dataDir = join(tmp.dir, "again");
    const first = demo(["--route", "rest", "--readings", "5", "--data-dir", dataDir]);
    expect(first.last).toBe("DEMO route=rest produced=5 delivered=5 dead_letter=0");
    const second = demo(["--route", "rest", "--readings", "5", "--data-dir", dataDir]);
    expect(second.stdout).toContain(
      "the meter sent 5 record(s) this hub already stored in an earlier run: recognised as duplicates, not sent again",
    );
    expect(second.last).toBe("DEMO route=rest produced=5 delivered=0 dead_letter=0 duplicates_ignored=5");
    expect(second.status).toBe(0);
  }, 250_000);
});
