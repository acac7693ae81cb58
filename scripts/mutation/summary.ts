/**
 * Reads StrykerJS's JSON report (mutation-testing-report-schema) and sums it up: one row per file
 * and the closing line `MUTATION score=S mutants=N killed=K survived=X no_coverage=C`.
 * `mutants` counts valid mutants (detected or not); `killed` counts detected ones (killed or timed
 * out: a mutant that hangs the tests is noticed); score = killed / mutants as a percentage.
 * Mutants that do not compile or crash at load are invalid and are not counted, as in Stryker's own score.
 */
export interface MutationReport {
  files: Record<string, { mutants: ReadonlyArray<{ status: string }> }>;
}

export interface Tally {
  mutants: number;
  killed: number;
  timeout: number;
  survived: number;
  noCoverage: number;
}

const DETECTED = new Set(["Killed", "Timeout"]);

export function tally(statuses: Iterable<string>): Tally {
  const t: Tally = { mutants: 0, killed: 0, timeout: 0, survived: 0, noCoverage: 0 };
  for (const s of statuses) {
    if (DETECTED.has(s)) {
      t.mutants++;
      t.killed++;
      if (s === "Timeout") t.timeout++;
    } else if (s === "Survived") {
      t.mutants++;
      t.survived++;
    } else if (s === "NoCoverage") {
      t.mutants++;
      t.noCoverage++;
    }
  }
  return t;
}

/** Percentage of valid mutants detected, two decimals; 100 when there is nothing to detect. */
export function score(t: Tally): number {
  return t.mutants === 0 ? 100 : Math.floor((t.killed / t.mutants) * 10_000) / 100;
}

export function summaryLine(t: Tally): string {
  return `MUTATION score=${score(t).toFixed(2)} mutants=${t.mutants} killed=${t.killed} survived=${t.survived} no_coverage=${t.noCoverage}`;
}

/** The per-file table (Markdown), worst score first, then the total. */
export function fileTable(report: MutationReport): string {
  const rows = Object.entries(report.files)
    .map(([file, f]) => ({ file, t: tally(f.mutants.map((m) => m.status)) }))
    .filter((r) => r.t.mutants > 0)
    .sort((a, b) => score(a.t) - score(b.t) || (a.file < b.file ? -1 : 1));
  const line = (name: string, t: Tally) =>
    `| ${name} | ${score(t).toFixed(2)} | ${t.mutants} | ${t.killed} | ${t.survived} | ${t.noCoverage} |`;
  return [
    "| file | score % | mutants | killed | survived | no coverage |",
    "|---|---|---|---|---|---|",
    ...rows.map((r) => line(r.file, r.t)),
    line("**all**", totals(report)),
  ].join("\n");
}

export function totals(report: MutationReport): Tally {
  return tally(Object.values(report.files).flatMap((f) => f.mutants.map((m) => m.status)));
}
