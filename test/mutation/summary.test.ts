import { describe, expect, it } from "vitest";
import { fileTable, score, summaryLine, tally, totals } from "../../scripts/mutation/summary.js";

const report = {
  files: {
    "src/core/key.ts": {
      mutants: [
        { status: "Killed" },
        { status: "Killed" },
        { status: "Timeout" },
        { status: "Survived" },
        { status: "CompileError" },
      ],
    },
    "src/core/units.ts": {
      mutants: [
        { status: "NoCoverage" },
        { status: "Killed" },
        { status: "RuntimeError" },
        { status: "Ignored" },
      ],
    },
    "src/core/empty.ts": { mutants: [{ status: "Ignored" }] },
  },
};

describe("mutation summary", () => {
  it("counts valid mutants only; killed includes timeouts; score is killed over valid", () => {
    const t = totals(report);
    expect(t).toEqual({ mutants: 6, killed: 4, timeout: 1, survived: 1, noCoverage: 1 });
    expect(score(t)).toBe(66.66);
    expect(summaryLine(t)).toBe("MUTATION score=66.66 mutants=6 killed=4 survived=1 no_coverage=1");
  });

  it("an empty run scores 100 and says so in one line", () => {
    expect(summaryLine(tally([]))).toBe("MUTATION score=100.00 mutants=0 killed=0 survived=0 no_coverage=0");
  });

  it("tabulates files worst first, skips files without valid mutants, ends with the total", () => {
    expect(fileTable(report).split("\n")).toEqual([
      "| file | score % | mutants | killed | survived | no coverage |",
      "|---|---|---|---|---|---|",
      "| src/core/units.ts | 50.00 | 2 | 1 | 0 | 1 |",
      "| src/core/key.ts | 75.00 | 4 | 3 | 1 | 0 |",
      "| **all** | 66.66 | 6 | 4 | 1 | 1 |",
    ]);
  });
});
