import { describe, expect, it } from "vitest";
import { FakeClock } from "../../src/core/clock.js";
import { type FinishContext, finishReading } from "../../src/core/finish.js";
import { idempotencyKey } from "../../src/core/key.js";
import type { ReadingDraft } from "../../src/core/reading.js";
import type { LocalDateTime } from "../../src/core/time.js";

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

  it("an unsynchronised hub never takes its receipt time for certain: flagged, keyed on the receipt", () => {
    // On a synchronised hub this receipt would make the first 01:30 certain (no flag, offset key).
    const unsynced = finishReading(at0130, receivedAt(firstPass + 20_000, false));
    expect(unsynced.flags).toEqual(["ambiguous-local-time"]);
    expect(unsynced.measuredAt).toBe("2026-10-25T01:30:00.000+01:00");
    expect(finishReading(at0130, receivedAt(firstPass + 20_000, false)).key).not.toBe(unsynced.key);
  });

  it("two different 01:xx records known for certain to be in the first pass keep different keys", () => {
    const a = finishReading(at0130, receivedAt(firstPass + 20_000));
    const b = finishReading(
      { ...at0130, deviceTime: { ...(at0130.deviceTime as LocalDateTime), minutes: 31 } },
      receivedAt(firstPass + 80_000),
    );
    expect(a.flags).toEqual([]);
    expect(b.flags).toEqual([]);
    expect(b.key).not.toBe(a.key);
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

describe("idempotencyKey: the canonical form of version 2", () => {
  const bpValues = [
    { id: "bp-systolic", value: 128, unit: "mm[Hg]" },
    { id: "bp-diastolic", value: 84, unit: "mm[Hg]" },
    { id: "pulse-rate", value: 71, unit: "/min" },
  ];

  it("is SHA-256 (base64url) of the JSON array written down in key.md (stable across releases)", () => {
    // sha256(["v2","aa:bb","p1",1,"blood-pressure",["device","2026-07-01T11:58:00",null],7,
    //         [["bp-diastolic",84,"mm[Hg]"],["bp-systolic",128,"mm[Hg]"]]])
    expect(
      idempotencyKey({
        deviceId: "aa:bb",
        patient: "p1",
        userSlot: 1,
        kind: "blood-pressure",
        time: { local: "2026-07-01T11:58:00" },
        seq: 7,
        values: bpValues.slice(0, 2),
      }),
    ).toBe("A8h2UhBkPo_dPUWs8lDZ_JEreiJQFqp0IIOcydhAGCg");
    // sha256(["v2","usb-1","p2",null,"spo2",["receipt",1782907200000,"t-1"],null,[["spo2",97,"%"]]])
    expect(
      idempotencyKey({
        deviceId: "usb-1",
        patient: "p2",
        kind: "spo2",
        time: { receivedAtMs: 1782907200000, token: "t-1" },
        values: [{ id: "spo2", value: 97, unit: "%" }],
      }),
    ).toBe("YoIlf44N9Yar96MCX9sD_lkOIMSTgkUen21oRw8Up6E");
    // sha256(["v2","aa:bb","p1",null,"blood-pressure",["device","2026-10-25T01:30:00",60],null,
    //         [["bp-systolic",128,"mm[Hg]"]]])
    expect(
      idempotencyKey({
        deviceId: "aa:bb",
        patient: "p1",
        kind: "blood-pressure",
        time: { local: "2026-10-25T01:30:00", offsetMin: 60 },
        values: bpValues.slice(0, 1),
      }),
    ).toBe("kDrmxGASPW7XkjOOrF29Do-dhKHbntOsoHB0K_pnEhM");
  });

  it("does not depend on the order the device lists its components in", () => {
    const keyFor = (values: typeof bpValues) =>
      idempotencyKey({
        deviceId: "aa:bb",
        patient: "p1",
        kind: "blood-pressure",
        time: { local: "2026-07-01T11:58:00" },
        values,
      });
    const [s, d, p] = bpValues as [(typeof bpValues)[0], (typeof bpValues)[0], (typeof bpValues)[0]];
    const orders = [
      [s, d, p],
      [s, p, d],
      [d, s, p],
      [d, p, s],
      [p, s, d],
      [p, d, s],
    ];
    expect(new Set(orders.map(keyFor)).size).toBe(1);
    expect(bpValues.map((c) => c.id)).toEqual(["bp-systolic", "bp-diastolic", "pulse-rate"]);
  });

  it("an offset resolved in a DST overlap and none give two keys; so do device time and receipt", () => {
    const base = { deviceId: "aa:bb", patient: "p1", kind: "blood-pressure", values: bpValues };
    const keys = [
      idempotencyKey({ ...base, time: { local: "2026-10-25T01:30:00" } }),
      idempotencyKey({ ...base, time: { local: "2026-10-25T01:30:00", offsetMin: 60 } }),
      idempotencyKey({ ...base, time: { local: "2026-10-25T01:30:00", offsetMin: 0 } }),
      idempotencyKey({ ...base, time: { receivedAtMs: 0, token: "2026-10-25T01:30:00" } }),
    ];
    expect(new Set(keys).size).toBe(4);
  });
});
