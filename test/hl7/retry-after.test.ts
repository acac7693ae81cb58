import { describe, expect, it } from "vitest";
import { parseRetryAfter, RETRY_AFTER_MAX_MS } from "../../src/forward/retry-after.js";

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);

describe("Retry-After (one parser for both routes)", () => {
  it("delay-seconds: exact milliseconds, leading zeros allowed, surrounding whitespace ignored", () => {
    expect(parseRetryAfter("120", NOW)).toBe(120_000);
    expect(parseRetryAfter("0", NOW)).toBe(0);
    expect(parseRetryAfter(" 007 ", NOW)).toBe(7_000);
    expect(parseRetryAfter("3600", NOW)).toBe(3_600_000);
  });

  it("is capped at one hour: 31 years and a 400-digit value both wait exactly the cap", () => {
    expect(RETRY_AFTER_MAX_MS).toBe(3_600_000);
    expect(parseRetryAfter("3601", NOW)).toBe(3_600_000);
    expect(parseRetryAfter(String(31 * 365 * 86_400), NOW)).toBe(3_600_000);
    expect(parseRetryAfter("9".repeat(400), NOW)).toBe(3_600_000);
    expect(parseRetryAfter(`${"0".repeat(400)}5`, NOW)).toBe(5_000);
    expect(parseRetryAfter("9999999999999", NOW)).toBe(3_600_000);
    expect(parseRetryAfter("999999999999", NOW)).toBe(3_600_000);
    expect(parseRetryAfter("600", NOW, 60_000)).toBe(60_000);
  });

  it("HTTP-date in all three forms, GMT even for asctime; a past date is now; a far one is capped", () => {
    expect(parseRetryAfter("Thu, 01 Jan 2026 12:01:00 GMT", NOW)).toBe(60_000);
    expect(parseRetryAfter("Thursday, 01-Jan-26 12:02:00 GMT", NOW)).toBe(120_000);
    expect(parseRetryAfter("Thu Jan  1 12:00:30 2026", NOW)).toBe(30_000);
    expect(parseRetryAfter("Wed, 31 Dec 2025 12:00:00 GMT", NOW)).toBe(0);
    expect(parseRetryAfter("Fri, 01 Jan 2057 12:00:00 GMT", NOW)).toBe(3_600_000);
  });

  it("anything else is not a Retry-After value (the route's own backoff applies)", () => {
    for (const v of ["", " ", "soon", "1.5", "-1", "+5", "5s", "1e3", "Infinity", "NaN", "0x10"])
      expect(parseRetryAfter(v, NOW), JSON.stringify(v)).toBeUndefined();
    expect(parseRetryAfter("2026-01-01T12:01:00Z", NOW)).toBeUndefined();
    expect(parseRetryAfter("Thu, 01 Jan 2026 12:01:00 CET", NOW)).toBeUndefined();
    expect(parseRetryAfter(undefined, NOW)).toBeUndefined();
    expect(parseRetryAfter(null, NOW)).toBeUndefined();
  });

  it("one header as an array is read; several that may disagree are not trusted", () => {
    expect(parseRetryAfter(["30"], NOW)).toBe(30_000);
    expect(parseRetryAfter(["30", "60"], NOW)).toBeUndefined();
    expect(parseRetryAfter([], NOW)).toBeUndefined();
  });
});
