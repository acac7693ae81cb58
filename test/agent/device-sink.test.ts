import { describe, expect, it } from "vitest";
import { driverById } from "../../drivers/index.js";
import { newCounters, ReadingSink } from "../../src/agent/device-sink.js";
import type { HubBuffer } from "../../src/buffer/buffer.js";
import type { DeviceConfig } from "../../src/config/schema.js";
import { FakeClock } from "../../src/core/clock.js";
import { silentLogger } from "../../src/core/log.js";
import type { ReadingDraft } from "../../src/core/reading.js";
import { bpDraft, bufferPerTest } from "../support/buffer.js";
import { testContext } from "../support/context.js";

let buffer: HubBuffer;
let clock: FakeClock;
// "ghost" is a patient with no route (e.g. removed by a config reload while the device still names it).
const tmp = bufferPerTest(
  (b) => ({ buffer, clock } = b),
  () => buffer,
  {
    clock: new FakeClock(Date.UTC(2026, 2, 10, 12)),
    routeOf: (p) => (p === "ghost" ? undefined : "pkb-rest"),
  },
);

/** A BP monitor shared through user slots 1 and 2 (and 3, bound to a patient with no route). */
const monitor: DeviceConfig = {
  id: "bp",
  driver: "ble-blood-pressure",
  userSlots: { "1": "anna", "2": "ben", "3": "ghost" },
  simulate: false,
  options: {},
};

function sink() {
  const counters = newCounters();
  const ctx = testContext(buffer, clock, tmp.dir);
  return new ReadingSink(ctx, monitor, driverById("ble-blood-pressure"), silentLogger(), counters);
}

/** 128/82 mmHg at 11:58 on 10 March 2026 (the same measurement, whichever user slot took it). */
const measurement = bpDraft(128, 82, {
  deviceTime: { year: 2026, month: 3, day: 10, hours: 11, minutes: 58, seconds: 0 },
});

/** The measurement taken under a user slot; `meta` spoils it when asked. */
function draft(userSlot: number, meta: Record<string, unknown> = {}): { draft: ReadingDraft; atMs: number } {
  return { draft: { ...measurement, userSlot, meta: meta as Record<string, string> }, atMs: clock.nowMs() };
}

const storedPatients = () =>
  buffer.db.prepare("SELECT patient FROM readings ORDER BY id").pluck().all() as string[];

describe("device readings into the buffer: what is stored and when the device is acknowledged", () => {
  it("two user slots of a shared monitor, same minute, same values: both readings are stored through the buffer", async () => {
    const s = sink();
    expect(await s.store([draft(1), draft(2)], "ble:aa")).toBe(true);
    expect(storedPatients()).toEqual(["anna", "ben"]);
    expect(s.counters).toMatchObject({ readings: 2, duplicates: 0 });
    // The same records re-sent (a reconnect): each merges with its own, never with the other patient's.
    expect(await s.store([draft(2), draft(1)], "ble:aa")).toBe(true);
    expect(s.counters).toMatchObject({ readings: 2, duplicates: 2 });
    expect(buffer.stats().byState.pending).toBe(2);
  });

  it("a batch with one reading refused for good stores the others and acknowledges the device (holding it back would stall the device on it)", async () => {
    const s = sink();
    const unserialisable = draft(2, { big: 1n });
    expect(await s.store([draft(1), unserialisable], "ble:aa")).toBe(true);
    expect(storedPatients()).toEqual(["anna"]);
    expect(s.counters).toMatchObject({ readings: 1, malformedFrames: 1, notStored: 0 });
    // Alone, it is still refused for good: acknowledged, counted, never retried for ever.
    expect(await s.store([draft(2, { big: 1n })], "ble:aa")).toBe(true);
    expect(s.counters).toMatchObject({ readings: 1, malformedFrames: 2, notStored: 0 });
  });

  it("a batch with one reading refused for now (its patient has no route) stores the others but is not acknowledged; the device's re-send stores nothing twice", async () => {
    const s = sink();
    expect(await s.store([draft(1), draft(3)], "ble:aa")).toBe(false);
    expect(storedPatients()).toEqual(["anna"]);
    expect(s.counters).toMatchObject({ readings: 1, notStored: 1, malformedFrames: 0 });
    expect(await s.store([draft(1), draft(3)], "ble:aa")).toBe(false);
    expect(storedPatients()).toEqual(["anna"]);
    expect(s.counters).toMatchObject({ readings: 1, duplicates: 1, notStored: 2 });
  });
});
