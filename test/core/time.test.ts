import { describe, expect, it } from "vitest";
import {
  chooseOverlapInstant,
  DEVICE_CLOCK_TOLERANCE_MS,
  isoInZone,
  isoWithOffset,
  isValidLocal,
  isValidTimeZone,
  LIVE_WINDOW_MS,
  localToString,
  offsetMinutes,
  zonedToInstant,
} from "../../src/core/time.js";
import { wall } from "./fixtures.js";

const at = wall;

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

  it("cannot tell when every candidate is in the future", () => {
    expect(chooseOverlapInstant(both, e1 - DEVICE_CLOCK_TOLERANCE_MS - 1)).toEqual({
      epochMs: e1,
      basis: "unknown",
    });
    expect(() => chooseOverlapInstant([], e1)).toThrow(new RangeError("no candidate instants"));
  });
});

describe("time helpers, field by field", () => {
  it("isValidLocal checks every field's bounds and integrality", () => {
    expect(isValidLocal(at(2026, 12, 31, 23, 59, 59))).toBe(true);
    expect(isValidLocal(at(2026, 1, 1, 0, 0, 0))).toBe(true);
    expect(isValidLocal(at(2026, 13, 1, 0))).toBe(false);
    expect(isValidLocal(at(2026, 1, 0, 0))).toBe(false);
    expect(isValidLocal(at(2026, 1, 32, 0))).toBe(false);
    expect(isValidLocal(at(2026, 4, 31, 0))).toBe(false);
    expect(isValidLocal(at(2026, 4, 30, 0))).toBe(true);
    expect(isValidLocal(at(2026, 1, 1, -1))).toBe(false);
    expect(isValidLocal(at(2026, 1, 1, 0, 60))).toBe(false);
    expect(isValidLocal(at(2026, 1, 1, 0, -1))).toBe(false);
    expect(isValidLocal(at(2026, 1, 1, 0, 0, 60))).toBe(false);
    expect(isValidLocal(at(2026, 1, 1, 0, 0, -1))).toBe(false);
    expect(isValidLocal(at(2026, 1, 1, 0, 0, 1.5))).toBe(false);
    expect(isValidLocal(at(2026.5, 1, 1, 0))).toBe(false);
    expect(isValidLocal(at(2026, Number.NaN, 1, 0))).toBe(false);
    expect(isValidLocal(at(2026, 1, 1, 0, 30.5))).toBe(false);
    expect(isValidLocal(at(2026, 1, 1.5, 0))).toBe(false);
    expect(isValidLocal(at(2026, 1, 1, 0.5))).toBe(false);
  });

  it("localToString writes the wall time zero-padded and zone-free", () => {
    expect(localToString(at(2026, 3, 5, 7, 8, 9))).toBe("2026-03-05T07:08:09");
    expect(localToString(at(999, 12, 31, 23, 59, 59))).toBe("0999-12-31T23:59:59");
  });

  it("isoWithOffset writes milliseconds and both signs of offset", () => {
    expect(isoWithOffset(Date.UTC(2026, 6, 1, 8, 5, 3, 7), 60)).toBe("2026-07-01T09:05:03.007+01:00");
    expect(isoWithOffset(Date.UTC(2026, 0, 1, 0, 0, 0), 0)).toBe("2026-01-01T00:00:00.000+00:00");
    expect(isoWithOffset(Date.UTC(2026, 0, 1, 12, 0, 0), -570)).toBe("2026-01-01T02:30:00.000-09:30");
    expect(isoWithOffset(Date.UTC(2026, 0, 1, 12, 0, 0), 345)).toBe("2026-01-01T17:45:00.000+05:45");
  });

  it("offsetMinutes at both sides of a change, in whole minutes, through its cache", () => {
    const change = Date.UTC(2026, 2, 29, 1, 0); // London springs forward at 01:00Z
    expect(offsetMinutes(change - 1, "Europe/London")).toBe(0);
    expect(offsetMinutes(change, "Europe/London")).toBe(60);
    expect(offsetMinutes(change - 1, "Europe/London")).toBe(0);
    expect(offsetMinutes(change + 899_999, "Europe/London")).toBe(60);
    expect(offsetMinutes(Date.UTC(2026, 0, 1, 0, 0, 0, 999), "Asia/Kathmandu")).toBe(345);
    expect(offsetMinutes(Date.UTC(1969, 11, 31, 23, 59, 59, 500), "America/St_Johns")).toBe(-210);
    expect(offsetMinutes(Date.UTC(2026, 6, 1), "UTC")).toBe(0);
  });

  it("isoInZone uses the zone's offset at that instant", () => {
    expect(isoInZone(Date.UTC(2026, 6, 1, 11, 0), "Europe/London")).toBe("2026-07-01T12:00:00.000+01:00");
    expect(isoInZone(Date.UTC(2026, 0, 1, 11, 0), "Europe/London")).toBe("2026-01-01T11:00:00.000+00:00");
    expect(isoInZone(Date.UTC(2026, 0, 1, 11, 0), "America/New_York")).toBe("2026-01-01T06:00:00.000-05:00");
  });

  it("knows valid zones from invalid ones", () => {
    expect(isValidTimeZone("Europe/London")).toBe(true);
    expect(isValidTimeZone("UTC")).toBe(true);
    expect(isValidTimeZone("Mars/Olympus_Mons")).toBe(false);
    expect(isValidTimeZone("")).toBe(false);
  });

  it("a spring-forward gap west of UTC keeps the offset from before the jump", () => {
    // New York 2026-03-08 02:30 does not exist (02:00 EST → 03:00 EDT).
    const r = zonedToInstant(at(2026, 3, 8, 2, 30), "America/New_York");
    expect(r).toEqual({
      epochMs: Date.UTC(2026, 2, 8, 7, 30),
      iso: "2026-03-08T03:30:00.000-04:00",
      ambiguous: false,
      nonexistent: true,
      candidates: [],
    });
    // The autumn overlap there: 01:30 EDT (05:30Z) then 01:30 EST (06:30Z).
    expect(zonedToInstant(at(2026, 11, 1, 1, 30), "America/New_York").candidates).toEqual([
      Date.UTC(2026, 10, 1, 5, 30),
      Date.UTC(2026, 10, 1, 6, 30),
    ]);
  });

  it("Lord Howe Island's half-hour overlap leaves room for only one live candidate", () => {
    // Australia/Lord_Howe falls back 30 minutes (+11:00 → +10:30) at 02:00 local, 2026-04-05.
    const z = zonedToInstant(at(2026, 4, 5, 1, 45), "Australia/Lord_Howe");
    expect(z.ambiguous).toBe(true);
    const [e1, e2] = z.candidates as [number, number];
    expect(e2 - e1).toBe(30 * 60_000);
    expect(DEVICE_CLOCK_TOLERANCE_MS + LIVE_WINDOW_MS).toBeLessThan(e2 - e1);
    expect(chooseOverlapInstant(z.candidates, e2 + 60_000)).toEqual({ epochMs: e2, basis: "live" });
    expect(chooseOverlapInstant(z.candidates, e1 + 60_000)).toEqual({ epochMs: e1, basis: "certain" });
  });
});
