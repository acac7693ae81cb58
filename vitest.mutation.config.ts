import { defineConfig } from "vitest/config";

/**
 * The suites `npm run mutation` (StrykerJS) runs against each mutant: only those that run
 * in-process. Suites that spawn processes (dist/ CLIs, simulators), open ptys or serial ports
 * (native serialport pollers crash inside Stryker's worker), start brokers or HTTP servers are left
 * out; the code they cover has unit tests of its own. A new in-process suite under an included
 * folder is picked up; a new suite that spawns anything goes into `exclude` below.
 */
export default defineConfig({
  test: {
    include: [
      "drivers/**/*.test.ts",
      "test/core/**/*.test.ts",
      "test/drivers/**/*.test.ts",
      "test/buffer/**/*.test.ts",
      "test/forward/**/*.test.ts",
      "test/hl7/**/*.test.ts",
      "test/devices/sessions.test.ts",
      "test/config/url.test.ts",
      "test/pkb-rest/secrets.test.ts",
    ],
    exclude: [
      "test/buffer/crash.test.ts", // spawns a child it SIGKILLs
      // HL7 stand-in HTTPS server per test (useHl7Harness); the pure HL7 code has unit suites of its own.
      "test/hl7/acks.test.ts",
      "test/hl7/charset.test.ts",
      "test/hl7/config.test.ts",
      "test/hl7/documents.test.ts",
      "test/hl7/ids.test.ts",
      "test/hl7/observations.test.ts",
      "test/hl7/outcomes.test.ts",
      "test/hl7/route.test.ts",
      "test/hl7/units.test.ts",
      "test/hl7/unknown-patient.test.ts",
      "test/hl7/workflow.test.ts",
    ],
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
