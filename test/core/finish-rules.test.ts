import { describe, expect, it } from "vitest";
import { FakeClock } from "../../src/core/clock.js";
import { finishReading } from "../../src/core/finish.js";
import type { ReadingDraft } from "../../src/core/reading.js";
import { type LocalDateTime, utcWallTime } from "../../src/core/time.js";
import { finishCtx, finishOne } from "./fixtures.js";

const NOW = Date.UTC(2026, 6, 1, 12, 0, 0);
const utc = (ms = NOW, synced = true) =>
  finishCtx({ timeZone: "UTC", clock: new FakeClock(ms, synced), receivedAtMs: ms });
const local = utcWallTime;
const spo2At = (t: LocalDateTime | undefined, extra: Partial<ReadingDraft> = {}): ReadingDraft => ({
  kind: "spo2",
  components: [{ id: "spo2", value: 97, unit: "%" }],
  ...(t ? { deviceTime: t } : {}),
  ...extra,
});

describe("finishReading: the measurement time", () => {
  it("a device time from 2015 on is used; one second before is a never-set clock", () => {
    const floor = Date.UTC(2015, 0, 1);
    const ok = finishReading(spo2At(local(floor)), utc());
    expect(ok.measuredAt).toBe("2015-01-01T00:00:00.000+00:00");
    expect(ok.timeSource).toBe("device");
    expect(ok.flags).toEqual([]);
    const unset = finishReading(spo2At(local(floor - 1000)), utc());
    expect(unset.flags).toEqual(["device-time-invalid"]);
    expect(unset.timeSource).toBe("hub");
    expect(unset.measuredAt).toBe("2026-07-01T12:00:00.000+00:00");
    expect(unset.source).toEqual({ deviceTime: "2014-12-31T23:59:59" });
  });

  it("a device time up to 10 minutes ahead of a synchronised hub is used; further ahead is refused", () => {
    const ahead = finishReading(spo2At(local(NOW + 600_000)), utc());
    expect(ahead.measuredAt).toBe("2026-07-01T12:10:00.000+00:00");
    expect(ahead.flags).toEqual([]);
    const future = finishReading(spo2At(local(NOW + 601_000)), utc());
    expect(future.flags).toEqual(["device-time-future"]);
    expect(future.timeSource).toBe("hub");
    expect(future.measuredAt).toBe("2026-07-01T12:00:00.000+00:00");
    // An unsynchronised hub cannot say what the future is: the device's time stands.
    const unsynced = finishReading(spo2At(local(NOW + 3_600_000)), utc(NOW, false));
    expect(unsynced.flags).toEqual([]);
    expect(unsynced.timeSource).toBe("device");
    expect(unsynced.measuredAt).toBe("2026-07-01T13:00:00.000+00:00");
  });

  it("an impossible calendar date is a device-time-invalid, keyed on what the device sent", () => {
    const feb30: LocalDateTime = { year: 2026, month: 2, day: 30, hours: 8, minutes: 0, seconds: 0 };
    const r = finishReading(spo2At(feb30), utc());
    expect(r.flags).toEqual(["device-time-invalid"]);
    expect(r.source).toEqual({ deviceTime: "2026-02-30T08:00:00" });
    expect(finishReading(spo2At(feb30), utc(NOW + 86_400_000)).key).toBe(r.key);
  });

  it("a wall time in the spring-forward gap is used and flagged nonexistent", () => {
    const gap: LocalDateTime = { year: 2026, month: 3, day: 29, hours: 1, minutes: 30, seconds: 0 };
    const r = finishReading(spo2At(gap), finishCtx());
    expect(r.flags).toEqual(["nonexistent-local-time"]);
    expect(r.measuredAt).toBe("2026-03-29T02:30:00.000+01:00");
  });

  it("hub time: synchronised, or not, or a wall clock before 2025 even if the probe says synced", () => {
    expect(finishReading(spo2At(undefined), utc()).timeSource).toBe("hub");
    expect(finishReading(spo2At(undefined), utc(NOW, false)).timeSource).toBe("hub-unsynced");
    const y1970 = finishReading(spo2At(undefined), utc(Date.UTC(2024, 11, 31, 23, 59, 59), true));
    expect(y1970.timeSource).toBe("hub-unsynced");
    expect(y1970.measuredAt).toBe("2024-12-31T23:59:59.000+00:00");
    expect(y1970.receivedAt).toBe("2024-12-31T23:59:59.000+00:00");
    expect(finishReading(spo2At(undefined), utc(Date.UTC(2025, 0, 1), true)).timeSource).toBe("hub");
  });

  it("receivedAt is the hub's receipt in the hub's zone", () => {
    const r = finishReading(spo2At(local(NOW - 60_000)), finishCtx());
    expect(r.receivedAt).toBe("2026-07-01T13:00:00.000+01:00");
    expect(r.measuredAt).toBe("2026-07-01T11:59:00.000+01:00");
  });
});

describe("finishReading: device clock skew", () => {
  it("records skew in whole seconds and flags more than 5 minutes either way", () => {
    const skew = (ms: number, synced = true) =>
      finishReading(spo2At(undefined), { ...utc(NOW, synced), deviceClockSkewMs: ms });
    expect(skew(300_000).deviceClockSkewSec).toBe(300);
    expect(skew(300_000).flags).toEqual([]);
    expect(skew(300_001).flags).toEqual(["device-clock-skew"]);
    expect(skew(-300_000).flags).toEqual([]);
    expect(skew(-300_001).flags).toEqual(["device-clock-skew"]);
    expect(skew(-300_001).deviceClockSkewSec).toBe(-300);
    expect(skew(1_499).deviceClockSkewSec).toBe(1);
    expect(skew(1_500).deviceClockSkewSec).toBe(2);
    // Against an unsynchronised hub a skew means nothing: not recorded, not flagged.
    expect(skew(3_600_000, false).deviceClockSkewSec).toBeUndefined();
    expect(skew(3_600_000, false).flags).toEqual([]);
    expect("deviceClockSkewSec" in finishReading(spo2At(undefined), utc())).toBe(false);
  });
});

describe("finishReading: what the reading carries", () => {
  it("copies identity, kind, driver flags first, meta and user slot; never shares the draft's objects", () => {
    const meta = { site: "finger" };
    const draft = spo2At(local(NOW - 60_000), { seq: 12, userSlot: 3, flags: ["irregular-pulse"], meta });
    const r = finishReading(draft, {
      ...utc(),
      deviceId: "dev-9",
      driver: "ble-pulse-oximeter",
      patient: "p-7",
    });
    expect(r).toMatchObject({
      deviceId: "dev-9",
      driver: "ble-pulse-oximeter",
      patient: "p-7",
      kind: "spo2",
      flags: ["irregular-pulse"],
      meta: { site: "finger", userSlot: 3 },
      source: { deviceTime: "2026-07-01T11:59:00", seq: 12 },
    });
    expect(meta).toEqual({ site: "finger" });
    expect(draft.flags).toEqual(["irregular-pulse"]);
    expect(r.quarantine).toBeUndefined();
    expect("quarantine" in r).toBe(false);
  });

  it("source holds only what the device sent: the sequence number alone, or nothing", () => {
    expect(finishReading(spo2At(undefined, { seq: 0 }), utc()).source).toEqual({ seq: 0 });
    expect("source" in finishReading(spo2At(undefined), utc())).toBe(false);
    expect(finishReading(spo2At(undefined), utc()).meta).toEqual({});
    expect(finishReading(spo2At(undefined, { userSlot: 0 }), utc()).meta).toEqual({ userSlot: 0 });
  });

  it("flags a value at the edge of its physiological range only beyond it", () => {
    expect(finishOne("spo2", 50, "%").flags).toEqual([]);
    expect(finishOne("spo2", 49.9, "%").flags).toEqual(["out-of-range:spo2"]);
    expect(finishOne("bp-systolic", 300, "mm[Hg]").flags).toEqual([]);
    expect(finishOne("bp-systolic", 300.1, "mm[Hg]").flags).toEqual(["out-of-range:bp-systolic"]);
    expect(finishOne("body-temperature", 25, "Cel").flags).toEqual([]);
    expect(finishOne("body-temperature", 24.99, "Cel").flags).toEqual(["out-of-range:body-temperature"]);
  });

  it("refuses a reading with no components, and a unit that cannot be converted, with the reason", () => {
    const unknown = { kind: "spo2", components: [{ id: "lactate", value: 1, unit: "mmol/L" }] };
    expect(() => finishReading(unknown as unknown as ReadingDraft, utc())).toThrow(
      expect.objectContaining({
        code: "READING_INVALID",
        message: "reading has a component the code table does not know",
      }),
    );
    expect(() => finishReading({ kind: "spo2", components: [] }, utc())).toThrow(
      expect.objectContaining({ code: "READING_INVALID", message: "reading has no components" }),
    );
    expect(() => finishOne("spo2", 97, "kg")).toThrow(
      expect.objectContaining({ code: "READING_INVALID", message: "component spo2 has unit kg, expected %" }),
    );
  });
});
