import { describe, expect, it } from "vitest";
import { alertHint, HINTED_ALERT_CODES } from "../../src/core/alert-hints.js";

describe("alert hints", () => {
  it("every hinted code has its own actionable line, different from the fallback and from each other", () => {
    const fallback = alertHint("NO_SUCH_ALERT");
    expect(fallback).toBe("see pkb-hub status and the agent log for this alert");
    const hints = HINTED_ALERT_CODES.map(alertHint);
    for (const [i, hint] of hints.entries()) {
      expect(hint, HINTED_ALERT_CODES[i]).not.toBe(fallback);
      expect(hint.length, HINTED_ALERT_CODES[i]).toBeGreaterThan(30);
    }
    expect(new Set(hints).size).toBe(hints.length);
  });

  it("covers the alerts the core and the buffer raise", () => {
    for (const code of [
      "DISK_FULL",
      "BUFFER_FULL",
      "QUARANTINED_READINGS",
      "CLOCK_UNSYNCED",
      "AMBIGUOUS_DELIVERY",
    ]) {
      expect(HINTED_ALERT_CODES).toContain(code);
    }
    expect(alertHint("QUARANTINED_READINGS")).toBe(
      "a device sent physically impossible values (kept, not forwarded): check the device and its driver",
    );
  });
});
