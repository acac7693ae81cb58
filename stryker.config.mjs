// StrykerJS over the pure parts: `npm run mutation` (scripts/mutation/main.ts runs it and prints the
// closing MUTATION line). Narrow a run with `npm run mutation -- --mutate src/core/key.ts` (several
// files: comma-separated, no braces: `--mutate src/core/key.ts,src/core/time.ts`).
// Mutation runs are CPU-heavy: keep concurrency at 1-2 on shared machines.
/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
export default {
  testRunner: "vitest",
  plugins: ["@stryker-mutator/vitest-runner"],
  vitest: { configFile: "vitest.mutation.config.ts" },
  coverageAnalysis: "perTest",
  mutate: [
    "drivers/**/*.ts",
    "!drivers/**/*.test.ts",
    "!drivers/**/fixtures.ts",
    "!drivers/fixture-types.ts",
    "src/core/**/*.ts",
    "src/buffer/**/*.ts",
    "src/forward/hl7/{encoding,messages,ack,outcome}.ts",
  ],
  ignorePatterns: ["dist", "reports", "bench-results", "coverage", ".demo-data", ".test-tmp", "*.db*"],
  tempDirName: "reports/.stryker-tmp",
  cleanTempDir: true,
  concurrency: 2,
  timeoutMS: 10_000,
  // The initial run of every in-process suite takes ~1 min on a quiet 2-core machine, far longer on
  // a busy one: Stryker's default 5 minutes ended runs before a single mutant was tried.
  dryRunTimeoutMinutes: 30,
  reporters: ["html", "json", "progress"],
  htmlReporter: { fileName: "reports/mutation/mutation.html" },
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  incremental: false,
};
