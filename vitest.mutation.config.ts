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
      "test/hl7/outcomes.test.ts", // HL7 stand-in HTTP server
      "test/hl7/route.test.ts", // HL7 stand-in HTTP server
      "test/hl7/workflow.test.ts", // HL7 stand-in HTTP server
    ],
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
