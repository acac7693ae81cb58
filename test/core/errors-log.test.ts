import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { HubError, isRetryable } from "../../src/core/errors.js";
import { createLogger } from "../../src/core/log.js";

describe("HubError", () => {
  it("carries a stable code, cause and retryability", () => {
    const cause = new Error("socket hang up");
    const e = new HubError("NETWORK", "PKB unreachable", { cause });
    expect(e.code).toBe("NETWORK");
    expect(e.cause).toBe(cause);
    expect(isRetryable(e)).toBe(true);
    expect(isRetryable(new HubError("REJECTED", "no"))).toBe(false);
    expect(isRetryable(new HubError("REJECTED", "no", { retryable: true }))).toBe(true);
    expect(isRetryable(new Error("plain"))).toBe(false);
  });
});

describe("logger redaction", () => {
  it("redacts PHI and secrets at any depth", async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const log = createLogger({ level: "info", destination: sink }).child({ component: "t" });
    log.info(
      {
        patient: { firstName: "Ann", nhsNumber: "9434765919", dob: "1950-01-31" },
        reading: { components: [{ value: 120 }] },
        auth: { refresh_token: "rt-secret", password: "pw" },
        value: 98.6,
      },
      "something",
    );
    const out = lines.join("");
    for (const secret of ["Ann", "9434765919", "1950-01-31", "rt-secret", 'pw"', "98.6", "120"]) {
      expect(out).not.toContain(secret);
    }
    expect(out).toContain("[redacted]");
  });
});
