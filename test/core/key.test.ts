import { describe, expect, it } from "vitest";
import { FakeClock } from "../../src/core/clock.js";
import { type FinishContext, finishReading } from "../../src/core/finish.js";
import type { ReadingDraft } from "../../src/core/reading.js";

const clock = new FakeClock(Date.UTC(2026, 6, 1, 12, 0, 0));
const ctx: FinishContext = {
  deviceId: "aa:bb:cc:dd:ee:ff",
  driver: "ble-blood-pressure",
  patient: "p1",
  timeZone: "Europe/London",
  clock,
  receivedAtMs: clock.nowMs(),
};

/** One BP record as a shared monitor sends it: same minute, same values, only the user slot differs. */
const bpInSlot = (userSlot: number | undefined): ReadingDraft => ({
  kind: "blood-pressure",
  components: [
    { id: "bp-systolic", value: 128, unit: "mm[Hg]" },
    { id: "bp-diastolic", value: 84, unit: "mm[Hg]" },
    { id: "pulse-rate", value: 71, unit: "/min" },
  ],
  deviceTime: { year: 2026, month: 7, day: 1, hours: 11, minutes: 58, seconds: 0 },
  ...(userSlot === undefined ? {} : { userSlot }),
});

describe("idempotency key: what makes two records different", () => {
  it("a BP monitor shared through user slots: two patients, same minute, same values give two keys", () => {
    const first = finishReading(bpInSlot(1), { ...ctx, patient: "p1" });
    const second = finishReading(bpInSlot(2), { ...ctx, patient: "p2" });
    expect(second.key).not.toBe(first.key);
  });

  it("the same slot bound to another patient gives another key", () => {
    const before = finishReading(bpInSlot(1), { ...ctx, patient: "p1" });
    const after = finishReading(bpInSlot(1), { ...ctx, patient: "p2" });
    expect(after.key).not.toBe(before.key);
  });

  it("two user slots bound to the same patient still give two keys", () => {
    const a = finishReading(bpInSlot(1), ctx);
    const b = finishReading(bpInSlot(2), ctx);
    const none = finishReading(bpInSlot(undefined), ctx);
    expect(new Set([a.key, b.key, none.key]).size).toBe(3);
  });
});

describe("idempotency key: records with no time of their own", () => {
  it("two readings without device time received in one batch (same instant, same values) give two keys", () => {
    const spot: ReadingDraft = { kind: "spo2", components: [{ id: "spo2", value: 97, unit: "%" }] };
    const nonin = { ...ctx, deviceId: "usb-nonin-1", driver: "nonin-serial" };
    const a = finishReading(spot, nonin);
    const b = finishReading(spot, nonin);
    expect(a.timeSource).toBe("hub");
    expect(b.measuredAt).toBe(a.measuredAt);
    expect(b.key).not.toBe(a.key);
  });
});
