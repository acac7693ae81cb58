import { describe, expect, it } from "vitest";
import {
  chooseOverlapInstant,
  DEVICE_CLOCK_TOLERANCE_MS,
  isoWithOffset,
  isValidLocal,
  LIVE_WINDOW_MS,
  offsetMinutes,
  zonedToInstant,
} from "../../src/core/time.js";

const at = (year: number, month: number, day: number, hours: number, minutes = 0, seconds = 0) => ({
  year,
  month,
  day,
  hours,
  minutes,
  seconds,
});

describe("device local time in the hub's zone", () => {
  it("winter and summer offsets in Europe/London", () => {
    const winter = zonedToInstant(at(2026, 1, 15, 9, 30), "Europe/London");
    expect(winter.iso).toBe("2026-01-15T09:30:00.000+00:00");
    const summer = zonedToInstant(at(2026, 7, 15, 9, 30), "Europe/London");
    expect(summer.iso).toBe("2026-07-15T09:30:00.000+01:00");
    expect(summer.epochMs).toBe(Date.UTC(2026, 6, 15, 8, 30));
    expect(summer.ambiguous || summer.nonexistent).toBe(false);
  });

  it("flags a time in the spring-forward gap as nonexistent", () => {
    // 2026-03-29 01:30 does not exist in London (01:00 -> 02:00).
    const r = zonedToInstant(at(2026, 3, 29, 1, 30), "Europe/London");
    expect(r.nonexistent).toBe(true);
    expect(r.epochMs).toBe(Date.UTC(2026, 2, 29, 1, 30));
  });

  it("flags a time in the autumn overlap as ambiguous and picks the earlier instant", () => {
    // 2026-10-25 01:30 happens twice in London.
    const r = zonedToInstant(at(2026, 10, 25, 1, 30), "Europe/London");
    expect(r.ambiguous).toBe(true);
    expect(r.epochMs).toBe(Date.UTC(2026, 9, 25, 0, 30));
    expect(r.iso).toBe("2026-10-25T01:30:00.000+01:00");
  });

  it("works for zones west of UTC and with half-hour offsets", () => {
    expect(zonedToInstant(at(2026, 1, 1, 12), "America/New_York").iso).toBe("2026-01-01T12:00:00.000-05:00");
    expect(offsetMinutes(Date.UTC(2026, 0, 1), "Asia/Kolkata")).toBe(330);
    expect(isoWithOffset(Date.UTC(2026, 0, 1), -90)).toBe("2025-12-31T22:30:00.000-01:30");
  });

  it("validates calendar fields", () => {
    expect(isValidLocal(at(2026, 2, 29, 0))).toBe(false);
    expect(isValidLocal(at(2028, 2, 29, 0))).toBe(true);
    expect(isValidLocal(at(2026, 0, 1, 0))).toBe(false);
    expect(isValidLocal(at(2026, 1, 1, 24))).toBe(false);
  });
});

describe("choosing an instant in a DST overlap from the receipt time", () => {
  const e1 = Date.UTC(2026, 9, 25, 0, 30);
  const e2 = Date.UTC(2026, 9, 25, 1, 30);
  const both = [e1, e2];

  it("lists both instants of an overlap and one otherwise", () => {
    expect(zonedToInstant(at(2026, 10, 25, 1, 30), "Europe/London").candidates).toEqual(both);
    expect(zonedToInstant(at(2026, 10, 25, 2, 30), "Europe/London").candidates).toEqual([
      Date.UTC(2026, 9, 25, 2, 30),
    ]);
    expect(zonedToInstant(at(2026, 3, 29, 1, 30), "Europe/London").candidates).toEqual([]);
  });

  it("is certain while the later instant has not happened yet (within the device clock tolerance)", () => {
    expect(DEVICE_CLOCK_TOLERANCE_MS).toBe(600_000);
    expect(chooseOverlapInstant(both, e1 + 1000)).toEqual({ epochMs: e1, basis: "certain" });
    expect(chooseOverlapInstant(both, e2 - DEVICE_CLOCK_TOLERANCE_MS - 1)).toEqual({
      epochMs: e1,
      basis: "certain",
    });
    // At the tolerance the later instant may already have happened on a fast device clock.
    expect(chooseOverlapInstant(both, e2 - DEVICE_CLOCK_TOLERANCE_MS)).toEqual({
      epochMs: e2,
      basis: "live",
    });
  });

  it("takes the live candidate when both have happened, up to the live window and no further", () => {
    expect(LIVE_WINDOW_MS).toBe(300_000);
    expect(chooseOverlapInstant(both, e2)).toEqual({ epochMs: e2, basis: "live" });
    expect(chooseOverlapInstant(both, e2 + LIVE_WINDOW_MS)).toEqual({ epochMs: e2, basis: "live" });
    expect(chooseOverlapInstant(both, e2 + LIVE_WINDOW_MS + 1)).toEqual({ epochMs: e1, basis: "unknown" });
  });

  it("cannot tell without a synchronised receipt, nor when every candidate is in the future", () => {
    expect(chooseOverlapInstant(both, undefined)).toEqual({ epochMs: e1, basis: "unknown" });
    expect(chooseOverlapInstant(both, e1 - DEVICE_CLOCK_TOLERANCE_MS - 1)).toEqual({
      epochMs: e1,
      basis: "unknown",
    });
    expect(() => chooseOverlapInstant([], e1)).toThrow(RangeError);
  });
});
