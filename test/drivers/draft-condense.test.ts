import { describe, expect, it } from "vitest";
import { Condenser, condensePolicy, DEFAULT_CONDENSE } from "../../drivers/condense.js";
import { addMinutes, DraftBuilder } from "../../drivers/draft.js";
import type { ReadingDraft } from "../../src/core/reading.js";
import { wall } from "../core/fixtures.js";

describe("DraftBuilder", () => {
  it("collects components, flags, meta, time, sequence and user slot; records what was sent", () => {
    const t = { year: 2026, month: 11, day: 24, hours: 8, minutes: 0, seconds: 0 };
    const [d] = new DraftBuilder("glucose")
      .add("glucose", { ok: true, value: 95 }, "mg/dL", { value: { ok: true, value: 0.00095 }, unit: "kg/L" })
      .flag("a")
      .meta("k", "v")
      .time(t)
      .sentTime(t, -15)
      .sentRecord("R|1")
      .seq(7)
      .userSlot(0)
      .build();
    expect(d).toEqual({
      kind: "glucose",
      components: [{ id: "glucose", value: 95, unit: "mg/dL" }],
      flags: ["a"],
      meta: { k: "v" },
      deviceTime: t,
      seq: 7,
      userSlot: 0,
      sent: {
        values: [{ id: "glucose", unit: "kg/L", value: 0.00095 }],
        deviceTime: "2026-11-24T08:00:00",
        timeOffsetMinutes: -15,
        record: "R|1",
      },
    });
  });

  it("a special value drops its component, flags the reading and is listed as sent", () => {
    const [d] = new DraftBuilder("blood-pressure")
      .add("bp-systolic", 120, "mm[Hg]")
      .add("bp-mean", { ok: false, special: "nres" }, "mm[Hg]")
      .add("pulse-rate", { ok: true, value: 72 }, "/min", {
        value: { ok: false, special: "nan" },
        unit: "/s",
      })
      .build();
    expect(d?.components).toEqual([
      { id: "bp-systolic", value: 120, unit: "mm[Hg]" },
      { id: "pulse-rate", value: 72, unit: "/min" },
    ]);
    expect(d?.flags).toEqual(["special-value:bp-mean:nres"]);
    expect(d?.sent).toEqual({
      values: [
        { id: "bp-systolic", unit: "mm[Hg]", value: 120 },
        { id: "bp-mean", unit: "mm[Hg]", special: "nres" },
        { id: "pulse-rate", unit: "/s", special: "nan" },
      ],
    });
  });

  it("no components left means no reading; an undefined time sets none", () => {
    expect(new DraftBuilder("spo2").add("spo2", { ok: false, special: "nan" }, "%").build()).toEqual([]);
    expect(new DraftBuilder("spo2").build()).toEqual([]);
    const [d] = new DraftBuilder("spo2").add("spo2", 97, "%").time(undefined).build();
    expect(d && "deviceTime" in d).toBe(false);
    expect(d && "seq" in d).toBe(false);
    expect(d && "userSlot" in d).toBe(false);
    expect(d?.sent).toEqual({
      values: [{ id: "spo2", unit: "%", value: 97 }],
    });
  });

  it("a sent time without an offset records none", () => {
    const t = { year: 0, month: 0, day: 0, hours: 0, minutes: 0, seconds: 0 };
    const [d] = new DraftBuilder("spo2").add("spo2", 97, "%").sentTime(t).build();
    expect(d?.sent).toStrictEqual({
      values: [{ id: "spo2", unit: "%", value: 97 }],
      deviceTime: "0000-00-00T00:00:00",
    });
  });
});

describe("addMinutes: the glucose time offset in the device's own calendar", () => {
  const at = wall;
  it.each([
    [at(2026, 11, 24, 7, 0, 9), 30, at(2026, 11, 24, 7, 30, 9)],
    [at(2026, 11, 24, 0, 10), -30, at(2026, 11, 23, 23, 40)],
    [at(2026, 12, 31, 23, 50), 15, at(2027, 1, 1, 0, 5)],
    [at(2028, 2, 28, 23, 0), 120, at(2028, 2, 29, 1, 0)], // leap year
    [at(2026, 3, 29, 0, 30), 60, at(2026, 3, 29, 1, 30)], // no DST: a wall clock, not an instant
    [at(2026, 11, 24, 7, 0), 0, at(2026, 11, 24, 7, 0)],
  ])("%j + %i min", (t, minutes, expected) => {
    expect(addMinutes(t, minutes)).toEqual(expected);
  });
});

describe("Condenser: one spot reading per window of a continuous stream", () => {
  const sample = (spo2: number, pulse = 70, flags?: string[]): ReadingDraft => ({
    kind: "spo2",
    components: [
      { id: "spo2", value: spo2, unit: "%" },
      { id: "pulse-rate", value: pulse, unit: "/min" },
    ],
    ...(flags ? { flags } : {}),
  });

  it("closes a window when a sample arrives windowMs or more after its start", () => {
    const c = new Condenser({ windowMs: 1000, minSamples: 1 });
    expect(c.push(sample(95), 0)).toBeUndefined();
    expect(c.push(sample(96), 999)).toBeUndefined(); // still inside
    const out = c.push(sample(90), 1000); // exactly windowMs: the first window closes
    expect(out?.draft.components).toEqual([
      { id: "spo2", value: 95.5, unit: "%" },
      { id: "pulse-rate", value: 70, unit: "/min" },
    ]);
    expect(out?.atMs).toBe(500); // the middle of the window
    expect(out?.draft.meta).toEqual({ samples: 2, windowSec: 1 });
    expect(out?.draft.flags).toEqual(["condensed"]); // samples without flags add none
    expect(c.flush(1500)?.draft.components[0]).toEqual({ id: "spo2", value: 90, unit: "%" });
  });

  it("the median: middle of an odd count, mean of the two middle ones of an even count, to 0.1", () => {
    const c = new Condenser({ windowMs: 60_000, minSamples: 1 });
    for (const v of [99, 90, 95]) c.push(sample(v), 0);
    expect(c.flush(10)?.draft.components[0]?.value).toBe(95);
    for (const v of [96.1, 96.4, 90, 99]) c.push(sample(v), 0);
    expect(c.flush(10)?.draft.components[0]?.value).toBe(96.3); // (96.1 + 96.4) / 2 = 96.25 → 96.3
    for (const v of [3, 1, 2, 10]) c.push(sample(v), 0); // sorted numerically, not as text
    expect(c.flush(10)?.draft.components[0]?.value).toBe(2.5);
  });

  it("fewer samples than minSamples is no reading; exactly minSamples is one", () => {
    const c = new Condenser({ windowMs: 60_000, minSamples: 3 });
    c.push(sample(95), 0);
    c.push(sample(95), 1);
    expect(c.flush(2)).toBeUndefined();
    for (let i = 0; i < 3; i++) c.push(sample(95), i);
    expect(c.flush(3)?.draft.meta).toEqual({ samples: 3, windowSec: 0 });
  });

  it("carries every flag once, plus condensed; kind and units from the samples; a flush empties it", () => {
    const c = new Condenser({ windowMs: 60_000, minSamples: 2 });
    c.push(sample(95, 70, ["artifact"]), 100_000);
    c.push(sample(96, 72, ["artifact", "sensor-alarm"]), 120_000);
    const out = c.flush(140_000);
    expect(out).toEqual({
      draft: {
        kind: "spo2",
        components: [
          { id: "spo2", value: 95.5, unit: "%" },
          { id: "pulse-rate", value: 71, unit: "/min" },
        ],
        flags: ["artifact", "sensor-alarm", "condensed"],
        meta: { samples: 2, windowSec: 40 },
      },
      atMs: 120_000,
    });
    expect(c.flush(150_000)).toBeUndefined();
  });

  it("a component missing from some samples is the median of those that have it", () => {
    const c = new Condenser({ windowMs: 60_000, minSamples: 2 });
    c.push(sample(95), 0);
    c.push({ kind: "spo2", components: [{ id: "pulse-rate", value: 80, unit: "/min" }] }, 1);
    expect(c.flush(2)?.draft.components).toEqual([
      { id: "spo2", value: 95, unit: "%" },
      { id: "pulse-rate", value: 75, unit: "/min" },
    ]);
  });

  it("a minimum of 0 samples is taken as 1: an empty window is never a reading", () => {
    const c = new Condenser({ windowMs: 1000, minSamples: 0 });
    expect(c.flush(0)).toBeUndefined();
    c.push(sample(95), 0);
    expect(c.flush(10)?.draft.meta).toEqual({ samples: 1, windowSec: 0 });
  });

  it("policy from a device's options, else the default (60 s, 10 samples)", () => {
    expect(DEFAULT_CONDENSE).toEqual({ windowMs: 60_000, minSamples: 10 });
    expect(condensePolicy({})).toEqual({ windowMs: 60_000, minSamples: 10 });
    expect(condensePolicy({ condenseWindowSec: 30, condenseMinSamples: 5 })).toEqual({
      windowMs: 30_000,
      minSamples: 5,
    });
    expect(condensePolicy({ condenseWindowSec: "120" })).toEqual({ windowMs: 120_000, minSamples: 10 });
  });

  it("a default Condenser uses the default policy", () => {
    const c = new Condenser();
    for (let i = 0; i < 9; i++) c.push(sample(95), i * 1000);
    expect(c.flush(10_000)).toBeUndefined(); // 9 < 10
    for (let i = 0; i < 10; i++) c.push(sample(95), i * 1000);
    expect(c.push(sample(95), 59_999)).toBeUndefined();
    expect(c.push(sample(95), 60_000)?.draft.meta).toEqual({ samples: 11, windowSec: 60 });
  });
});
