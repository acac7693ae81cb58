import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { HubError } from "../../src/core/errors.js";
import { createLogger, REDACT_PATHS, silentLogger } from "../../src/core/log.js";

/** Every key whose value is PHI or a secret, as the log must hide it. */
// Written out independently of src/core/log.ts: the oracle, not a copy of the list under test.
const SENSITIVE = (
  "name firstName lastName givenName familyName dob dateOfBirth birthDate nhsNumber nationalIds " +
  "email postcode address value values components body payload hl7 token accessToken refreshToken " +
  "access_token refresh_token id_token authorizationCode code_verifier password secret clientSecret " +
  "authorization Authorization cookie deviceSecret"
).split(" ");

function capture(level: "info" | "debug" = "info") {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { log: createLogger({ level, destination: sink }), lines };
}

describe("log redaction of PHI and secrets, key by key", () => {
  it("hides every sensitive key at the top level and one and two levels down", () => {
    const { log, lines } = capture();
    for (const key of SENSITIVE) {
      log.info({ [key]: `TOP-${key}`, a: { [key]: `ONE-${key}`, b: { [key]: `TWO-${key}` } } }, "m");
    }
    const out = lines.join("");
    for (const key of SENSITIVE) {
      for (const depth of ["TOP", "ONE", "TWO"]) expect(out).not.toContain(`${depth}-${key}`);
    }
    expect(lines).toHaveLength(SENSITIVE.length);
    expect(JSON.parse(lines[0] ?? "{}")).toMatchObject({
      name: "[redacted]",
      a: { name: "[redacted]", b: { name: "[redacted]" } },
      service: "pkb-hub",
      msg: "m",
      level: 30,
    });
  });

  it("lists exactly three paths per key", () => {
    expect(REDACT_PATHS).toHaveLength(SENSITIVE.length * 3);
    expect(REDACT_PATHS.slice(0, 3)).toEqual(["name", "*.name", "*.*.name"]);
  });

  it("keeps what support needs: codes, counts, device ids", () => {
    const { log, lines } = capture();
    log.info({ code: "NETWORK", count: 3, deviceId: "aa:bb" }, "delivery failed");
    expect(JSON.parse(lines[0] ?? "{}")).toMatchObject({ code: "NETWORK", count: 3, deviceId: "aa:bb" });
  });

  it("logs errors by type, message, code and details only; never the cause's text", () => {
    const { log, lines } = capture();
    const err = new HubError("REJECTED", "PKB refused the reading", {
      cause: new Error("patient Ann Smith 9434765919 unknown"),
      details: { status: 422 },
    });
    log.error({ err }, "refused");
    log.error({ err: "plain text" }, "odd");
    log.error({ err: new Error("plain error") }, "plain");
    const [first, second, third] = lines.map((l) => JSON.parse(l));
    expect(first.err).toEqual({
      type: "HubError",
      message: "PKB refused the reading",
      code: "REJECTED",
      details: { status: 422 },
    });
    expect(lines[0]).not.toContain("9434765919");
    expect(second.err).toEqual({ message: "plain text" });
    expect(third.err).toEqual({ type: "Error", message: "plain error" });
  });

  it("info is the default level; debug lines are dropped at info", () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const log = createLogger({ destination: sink });
    log.debug("hidden");
    log.info("shown");
    expect(lines).toHaveLength(1);
    expect(log.level).toBe("info");
    expect(silentLogger().level).toBe("silent");
  });
});
