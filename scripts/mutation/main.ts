import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileTable, type MutationReport, summaryLine, totals } from "./summary.js";

/**
 * `npm run mutation [-- --mutate <glob> --concurrency <n> ...]`: runs StrykerJS with
 * stryker.config.mjs (arguments are passed through), prints the per-file table and, last, exactly
 * one line `MUTATION score=S mutants=N killed=K survived=X no_coverage=C`. Reports land in
 * reports/mutation/ (HTML and JSON). Exits non-zero when Stryker fails or writes no report.
 */
const root = process.cwd();
const report = join(root, "reports", "mutation", "mutation.json");
const stryker = join(root, "node_modules", ".bin", "stryker");

rmSync(report, { force: true }); // never summarise a previous run's report
const run = spawnSync(stryker, ["run", "stryker.config.mjs", ...process.argv.slice(2)], {
  stdio: ["ignore", "inherit", "inherit"],
  cwd: root,
});
if (run.status !== 0 || !existsSync(report)) {
  process.stderr.write(`stryker failed (exit ${run.status ?? run.signal}); no summary\n`);
  process.exit(run.status || 1);
}
const parsed = JSON.parse(readFileSync(report, "utf8")) as MutationReport;
process.stdout.write(`\n${fileTable(parsed)}\n\nHTML: reports/mutation/mutation.html\n`);
process.stdout.write(`${summaryLine(totals(parsed))}\n`);
