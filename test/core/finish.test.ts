import { describe, expect, it } from "vitest";
import { FakeClock } from "../../src/core/clock.js";
import { finishReading } from "../../src/core/finish.js";
import type { ReadingDraft } from "../../src/core/reading.js";

const clock = new FakeClock(Date.UTC(2026, 6, 1, 12, 0, 0));
const ctx = {
  deviceId: "aa:bb",
  driver: "ble-blood-pressure",
  patient: "p1",
  timeZone: "Europe/London",
  clock,
  receivedAtMs: clock.nowMs(),
};
const bp = (overrides: Partial<ReadingDraft> = {}): ReadingDraft => ({
  kind: "blood-pressure",
  components: [
    { id: "bp-systolic", value: 16, unit: "kPa" },
    { id: "bp-diastolic", value: 10.7, unit: "kPa" },
  ],
  deviceTime: { year: 2026, month: 7, day: 1, hours: 12, minutes: 55, seconds: 0 },
  ...overrides,
});

describe("finishReading", () => {
  it("converts to canonical units and attaches codes", () => {
    const r = finishReading(bp(), ctx);
    expect(r.components).toEqual([
      { id: "bp-systolic", code: "8480-6", snomed: "72313002", mdc: 150021, value: 120, unit: "mm[Hg]" },
      {
        id: "bp-diastolic",
        code: "8462-4",
        snomed: "1091811000000102",
        mdc: 150022,
        value: 80.3,
        unit: "mm[Hg]",
      },
    ]);
    expect(r.measuredAt).toBe("2026-07-01T12:55:00.000+01:00");
    expect(r.timeSource).toBe("device");
    expect(r.source).toEqual({ deviceTime: "2026-07-01T12:55:00" });
  });

  it("flags out-of-range values but keeps them", () => {
    const r = finishReading(bp({ components: [{ id: "bp-systolic", value: 400, unit: "mm[Hg]" }] }), ctx);
    expect(r.components[0]?.value).toBe(400);
    expect(r.flags).toContain("out-of-range:bp-systolic");
  });

  it("never uses a never-set device clock; falls back to hub time and says so", () => {
    const r = finishReading(
      bp({ deviceTime: { year: 2000, month: 1, day: 1, hours: 0, minutes: 0, seconds: 0 } }),
      ctx,
    );
    expect(r.flags).toContain("device-time-invalid");
    expect(r.timeSource).toBe("hub");
    expect(Date.parse(r.measuredAt)).toBe(clock.nowMs());
  });

  it("marks hub time as unsynced when the clock is not synchronised", () => {
    const unsynced = new FakeClock(Date.UTC(2026, 6, 1), false);
    const r = finishReading(bp({ deviceTime: undefined as never }), {
      ...ctx,
      clock: unsynced,
      receivedAtMs: unsynced.nowMs(),
    });
    expect(r.timeSource).toBe("hub-unsynced");
  });

  it("keys on what the device sent: the same record gives the same key whatever the hub zone", () => {
    const a = finishReading(bp({ seq: 7 }), ctx);
    const b = finishReading(bp({ seq: 7 }), {
      ...ctx,
      timeZone: "America/New_York",
      receivedAtMs: ctx.receivedAtMs + 5000,
    });
    expect(a.key).toBe(b.key);
    expect(finishReading(bp({ seq: 8 }), ctx).key).not.toBe(a.key);
    const other = bp({ components: [{ id: "bp-systolic", value: 17, unit: "kPa" }], seq: 7 });
    expect(finishReading(other, ctx).key).not.toBe(a.key);
  });

  it("records device clock skew against a synchronised hub", () => {
    const r = finishReading(bp(), { ...ctx, deviceClockSkewMs: 3_600_000 });
    expect(r.deviceClockSkewSec).toBe(3600);
    expect(r.flags).toContain("device-clock-skew");
  });

  it("rejects an empty reading and impossible units", () => {
    expect(() => finishReading(bp({ components: [] }), ctx)).toThrow(
      expect.objectContaining({ code: "READING_INVALID" }),
    );
    expect(() =>
      finishReading(bp({ components: [{ id: "bp-systolic", value: 1, unit: "kg" }] }), ctx),
    ).toThrow(expect.objectContaining({ code: "READING_INVALID" }));
  });
});
