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

describe("DST fall-back: the repeated hour", () => {
  // Europe/London 2026-10-25: 01:30 local happens at 00:30Z (BST, +01:00) and again at 01:30Z (GMT).
  const firstPass = Date.UTC(2026, 9, 25, 0, 30);
  const secondPass = Date.UTC(2026, 9, 25, 1, 30);
  const at0130: ReadingDraft = {
    kind: "blood-pressure",
    components: [
      { id: "bp-systolic", value: 131, unit: "mm[Hg]" },
      { id: "bp-diastolic", value: 86, unit: "mm[Hg]" },
    ],
    deviceTime: { year: 2026, month: 10, day: 25, hours: 1, minutes: 30, seconds: 0 },
  };
  const receivedAt = (ms: number, synced = true): FinishContext => ({
    ...ctx,
    clock: new FakeClock(ms, synced),
    receivedAtMs: ms,
  });

  it("two readings at 01:30 an hour apart, received live by a synchronised hub: two keys, each its own offset", () => {
    const first = finishReading(at0130, receivedAt(firstPass + 20_000));
    const second = finishReading(at0130, receivedAt(secondPass + 20_000));
    expect(second.key).not.toBe(first.key);
    expect(first.measuredAt).toBe("2026-10-25T01:30:00.000+01:00");
    expect(second.measuredAt).toBe("2026-10-25T01:30:00.000+00:00");
    // Only the second 01:30 had happened by the first receipt: certain, no flag.
    expect(first.flags).toEqual([]);
    // By the second receipt both had happened: the live one is the likely one, still flagged.
    expect(second.flags).toEqual(["ambiguous-local-time"]);
  });

  it("the two 01:30 readings downloaded together hours later are never merged, and both are flagged", () => {
    const batch = receivedAt(Date.UTC(2026, 9, 25, 9, 0));
    const first = finishReading(at0130, batch);
    const second = finishReading(at0130, batch);
    expect(second.key).not.toBe(first.key);
    expect(first.flags).toEqual(["ambiguous-local-time"]);
    expect(second.flags).toEqual(["ambiguous-local-time"]);
    expect(first.measuredAt).toBe("2026-10-25T01:30:00.000+01:00");
  });

  it("on an unsynchronised hub the two 01:30 readings are never merged, and both are flagged", () => {
    const first = finishReading(at0130, receivedAt(secondPass + 20_000, false));
    const second = finishReading(at0130, receivedAt(secondPass + 20_000, false));
    expect(second.key).not.toBe(first.key);
    expect(first.flags).toEqual(["ambiguous-local-time"]);
    expect(second.timeSource).toBe("device");
  });

  it("a 01:30 record re-sent before the second 01:30 has happened keeps its key", () => {
    const live = finishReading(at0130, receivedAt(firstPass + 20_000));
    const resent = finishReading(at0130, receivedAt(firstPass + 15 * 60_000));
    expect(resent.key).toBe(live.key);
  });

  it("with a sequence number the two 01:30 records differ by it, and a re-read days later keeps its key", () => {
    const first = finishReading({ ...at0130, seq: 40 }, receivedAt(firstPass + 20_000));
    const second = finishReading({ ...at0130, seq: 41 }, receivedAt(secondPass + 20_000));
    const replay = finishReading({ ...at0130, seq: 40 }, receivedAt(Date.UTC(2026, 9, 28, 12, 0)));
    expect(second.key).not.toBe(first.key);
    expect(replay.key).toBe(first.key);
    expect(second.measuredAt).toBe("2026-10-25T01:30:00.000+00:00");
  });

  it("a device clock measured 20 minutes fast is allowed for: its second 01:30 is not taken for the first", () => {
    // Hub receives at 01:15Z; the device's clock already says 01:35 GMT: the record's 01:30 was
    // 5 minutes ago on the device clock, i.e. the second pass. Without the skew it looks certain-first.
    const r = finishReading(at0130, {
      ...receivedAt(secondPass - 15 * 60_000),
      deviceClockSkewMs: 20 * 60_000,
    });
    expect(r.measuredAt).toBe("2026-10-25T01:30:00.000+00:00");
    expect(r.flags).toEqual(["ambiguous-local-time", "device-clock-skew"]);
  });
});
