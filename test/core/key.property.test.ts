import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FakeClock } from "../../src/core/clock.js";
import { type FinishContext, finishReading } from "../../src/core/finish.js";
import type { ReadingDraft } from "../../src/core/reading.js";
import type { LocalDateTime } from "../../src/core/time.js";
import { zonedToInstant } from "../../src/core/time.js";

/** The contract of src/core/key.md, checked over generated records. */

const ZONE = "Europe/London";
const RUNS = { numRuns: 400 };

interface Rec {
  deviceId: string;
  patient: string;
  userSlot: number | undefined;
  seq: number | undefined;
  time: LocalDateTime;
  systolic: number;
  diastolic: number;
  unit: "mm[Hg]" | "kPa";
}

const anyTime = fc
  .record({
    year: fc.integer({ min: 2016, max: 2027 }),
    month: fc.integer({ min: 1, max: 12 }),
    day: fc.integer({ min: 1, max: 28 }),
    hours: fc.integer({ min: 0, max: 23 }),
    minutes: fc.integer({ min: 0, max: 59 }),
    seconds: fc.integer({ min: 0, max: 59 }),
  })
  .map((t): LocalDateTime => t);
/** The repeated hour of Europe/London's autumn change in 2025, 2026 and 2027. */
const overlapTime = fc
  .record({
    year: fc.constantFrom(2025, 2026, 2027),
    minutes: fc.integer({ min: 0, max: 59 }),
    seconds: fc.integer({ min: 0, max: 59 }),
  })
  .map(
    ({ year, minutes, seconds }): LocalDateTime => ({
      year,
      month: 10,
      day: { 2025: 26, 2026: 25, 2027: 31 }[year] ?? 25,
      hours: 1,
      minutes,
      seconds,
    }),
  );
const value = fc.double({ min: 1, max: 400, noNaN: true, noDefaultInfinity: true });

const record: fc.Arbitrary<Rec> = fc.record({
  deviceId: fc.constantFrom("aa:bb:cc:dd:ee:01", "aa:bb:cc:dd:ee:02", "usb-Bayer_Contour-if00"),
  patient: fc.constantFrom("p1", "p2", "p-3"),
  userSlot: fc.option(fc.integer({ min: 0, max: 254 }), { nil: undefined }),
  seq: fc.option(fc.integer({ min: 0, max: 65535 }), { nil: undefined }),
  time: fc.oneof(anyTime, overlapTime),
  systolic: value,
  diastolic: value,
  unit: fc.constantFrom("mm[Hg]" as const, "kPa" as const),
});

/** How a copy arrives: when (ms after the measured instant), and whether the hub clock is synchronised. */
const receipt = fc.record({
  afterMs: fc.integer({ min: 0, max: 40 * 86_400_000 }),
  synced: fc.boolean(),
});

function draftOf(r: Rec): ReadingDraft {
  return {
    kind: "blood-pressure",
    components: [
      { id: "bp-systolic", value: r.systolic, unit: r.unit },
      { id: "bp-diastolic", value: r.diastolic, unit: r.unit },
    ],
    deviceTime: r.time,
    ...(r.userSlot === undefined ? {} : { userSlot: r.userSlot }),
    ...(r.seq === undefined ? {} : { seq: r.seq }),
  };
}

let tokens = 0;
function keyOf(r: Rec, measuredMs: number, how: { afterMs: number; synced: boolean }): string {
  const receivedAtMs = measuredMs + how.afterMs;
  const ctx: FinishContext = {
    deviceId: r.deviceId,
    driver: "ble-blood-pressure",
    patient: r.patient,
    timeZone: ZONE,
    clock: new FakeClock(receivedAtMs, how.synced),
    receivedAtMs,
    receiptToken: () => `t${++tokens}`,
  };
  return finishReading(draftOf(r), ctx).key;
}

const instant = (t: LocalDateTime, pass: 0 | 1 = 0): number => {
  const z = zonedToInstant(t, ZONE);
  return z.candidates[pass] ?? z.epochMs;
};

type Field = "patient" | "userSlot" | "seq" | "time" | "systolic" | "diastolic";

/** Returns a copy of `r` that differs from it in exactly `field`. */
function differIn(r: Rec, field: Field, pick: number): Rec {
  switch (field) {
    case "patient":
      return { ...r, patient: `${r.patient}x` };
    case "userSlot":
      return { ...r, userSlot: r.userSlot === undefined ? pick % 255 : r.userSlot === 0 ? undefined : 0 };
    case "seq":
      return { ...r, seq: r.seq === undefined ? pick % 65536 : r.seq + 1 };
    case "time":
      return { ...r, time: { ...r.time, seconds: (r.time.seconds + 1 + (pick % 59)) % 60 } };
    case "systolic":
      return { ...r, systolic: r.systolic + 1 };
    case "diastolic":
      return { ...r, diastolic: r.diastolic === 1 ? 2 : r.diastolic / 2 };
  }
}

describe("idempotency key contract (property-based)", () => {
  it("distinct records (patient, slot, sequence, device time or a value differ) never share a key", () => {
    fc.assert(
      fc.property(
        record,
        fc.constantFrom<Field>("patient", "userSlot", "seq", "time", "systolic", "diastolic"),
        fc.nat(),
        receipt,
        receipt,
        (a, field, pick, ra, rb) => {
          const b = differIn(a, field, pick);
          expect(keyOf(b, instant(b.time), rb)).not.toBe(keyOf(a, instant(a.time), ra));
        },
      ),
      RUNS,
    );
  });

  it("the two records of a DST overlap with the same values never share a key, however they arrive", () => {
    fc.assert(
      fc.property(
        record.chain((r) => overlapTime.map((time) => ({ ...r, time, seq: undefined }))),
        receipt,
        receipt,
        (r, first, second) => {
          expect(keyOf(r, instant(r.time, 1), second)).not.toBe(keyOf(r, instant(r.time, 0), first));
        },
      ),
      RUNS,
    );
  });

  it("the same record re-read (reconnect, RACP replay, re-sent meter memory) always has the same key", () => {
    fc.assert(
      fc.property(
        // Without a sequence number a record of the repeated DST hour is keyed on its receipt
        // (key.md: the price of never merging); every other record is recognised when re-read.
        record.filter((r) => r.seq !== undefined || !zonedToInstant(r.time, ZONE).ambiguous),
        receipt,
        receipt,
        (r, first, again) => {
          expect(keyOf(r, instant(r.time), again)).toBe(keyOf(r, instant(r.time), first));
        },
      ),
      RUNS,
    );
  });

  it("a re-read keeps its key whatever the hub's time zone, when the wall time is unambiguous in both", () => {
    fc.assert(
      fc.property(record, fc.constantFrom("UTC", "America/New_York", "Asia/Kolkata"), (r, zone) => {
        fc.pre(!zonedToInstant(r.time, ZONE).ambiguous && !zonedToInstant(r.time, zone).ambiguous);
        const at = instant(r.time);
        const london = keyOf(r, at, { afterMs: 0, synced: true });
        const ctx: FinishContext = {
          deviceId: r.deviceId,
          driver: "ble-blood-pressure",
          patient: r.patient,
          timeZone: zone,
          clock: new FakeClock(at + 3_600_000, true),
          receivedAtMs: at + 3_600_000,
        };
        expect(finishReading(draftOf(r), ctx).key).toBe(london);
      }),
      RUNS,
    );
  });
});
