import { describe, expect, it } from "vitest";
import { ERROR_CODES, HubError, isHubError, isRetryable, messageOf } from "../../src/core/errors.js";

describe("error codes", () => {
  it("exactly these codes are retryable by default (trying later may succeed)", () => {
    const retryable = Object.entries(ERROR_CODES)
      .filter(([, r]) => r)
      .map(([c]) => c)
      .sort();
    expect(retryable).toEqual(
      [
        "TRANSPORT_CLOSED",
        "TRANSPORT_OPEN_FAILED",
        "SERIAL_LOCKED",
        "BUFFER_FULL",
        "DISK_FULL",
        "STORAGE_IO",
        "CLOCK_UNSYNCED",
        "NETWORK",
        "TIMEOUT",
        "SERVER_ERROR",
        "RATE_LIMITED",
      ].sort(),
    );
    for (const code of [
      "READING_INVALID",
      "FRAME_SHORT",
      "REJECTED",
      "AUTH_FAILED",
      "MISATTRIBUTION",
    ] as const) {
      expect(new HubError(code, "x").retryable).toBe(false);
    }
  });

  it("a HubError carries its code, message, name, details and cause; retryability can be overridden", () => {
    const e = new HubError("TIMEOUT", "PKB did not answer", { details: { ms: 30000 } });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe("HubError");
    expect(e.message).toBe("PKB did not answer");
    expect(e.details).toEqual({ ms: 30000 });
    expect(e.retryable).toBe(true);
    expect(e.cause).toBeUndefined();
    expect(new HubError("TIMEOUT", "x", { retryable: false }).retryable).toBe(false);
    expect(new HubError("TIMEOUT", "x").details).toEqual({});
    expect("cause" in new HubError("TIMEOUT", "x")).toBe(false);
  });

  it("isHubError checks the class and, when given, the code", () => {
    const e = new HubError("DISK_FULL", "full");
    expect(isHubError(e)).toBe(true);
    expect(isHubError(e, "DISK_FULL")).toBe(true);
    expect(isHubError(e, "BUFFER_FULL")).toBe(false);
    expect(isHubError(new Error("DISK_FULL"))).toBe(false);
    expect(isHubError({ code: "DISK_FULL" }, "DISK_FULL")).toBe(false);
    expect(isRetryable("NETWORK")).toBe(false);
  });

  it("messageOf gives the message of an Error and the text of anything else", () => {
    expect(messageOf(new Error("boom"))).toBe("boom");
    expect(messageOf("plain")).toBe("plain");
    expect(messageOf(42)).toBe("42");
    expect(messageOf(undefined)).toBe("undefined");
  });
});
