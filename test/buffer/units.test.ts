import { describe, expect, it } from "vitest";
import { backoffDelayMs } from "../../src/buffer/backoff.js";
import { inChunks } from "../../src/buffer/chunks.js";
import { readingProblem, validateReadings } from "../../src/buffer/validate.js";
import { FakeClock } from "../../src/core/clock.js";
import { bpReading } from "../support/buffer.js";

describe("backoff", () => {
  const policy = { baseMs: 1000, maxMs: 60_000 };

  it("doubles per attempt with equal jitter: half fixed, half random", () => {
    expect([1, 2, 3, 4].map((a) => backoffDelayMs(a, policy, () => 0))).toEqual([500, 1000, 2000, 4000]);
    expect([1, 2, 3, 4].map((a) => backoffDelayMs(a, policy, () => 1))).toEqual([1000, 2000, 4000, 8000]);
    expect(backoffDelayMs(3, policy, () => 0.25)).toBe(2500);
  });

  it("is capped at maxMs, for any attempt number, and never below half the base", () => {
    expect(backoffDelayMs(7, policy, () => 1)).toBe(60_000);
    expect(backoffDelayMs(7, policy, () => 0)).toBe(30_000);
    expect(backoffDelayMs(1_000, policy, () => 1)).toBe(60_000);
    expect(backoffDelayMs(Number.MAX_SAFE_INTEGER, policy, () => 1)).toBe(60_000);
    expect(backoffDelayMs(0, policy, () => 0)).toBe(500);
    expect(backoffDelayMs(-5, policy, () => 1)).toBe(1000);
    // No overflow to Infinity when the exponent is huge and the cap is huge too.
    expect(backoffDelayMs(5_000, { baseMs: 1, maxMs: Number.MAX_SAFE_INTEGER }, () => 1)).toBe(2 ** 30);
  });

  it("rounds to whole milliseconds", () => {
    expect(backoffDelayMs(1, { baseMs: 3, maxMs: 100 }, () => 0.5)).toBe(2);
    expect(Number.isInteger(backoffDelayMs(2, { baseMs: 7, maxMs: 100 }, () => 0.3))).toBe(true);
  });
});

describe("chunked work", () => {
  it("runs steps until one handles nothing, yielding to the event loop between them", async () => {
    const handled = [3, 2, 0, 9];
    const ranBetween: boolean[] = [];
    let other = false;
    const total = await inChunks(() => {
      ranBetween.push(other);
      other = false;
      setImmediate(() => {
        other = true;
      });
      return handled.shift() as number;
    });
    expect(total).toBe(5);
    expect(handled).toEqual([9]);
    // Another callback queued during each step ran before the next step.
    expect(ranBetween).toEqual([false, true, true]);
  });

  it("stops after maxSteps", async () => {
    let calls = 0;
    expect(await inChunks(() => ++calls, 3)).toBe(6);
    expect(calls).toBe(3);
  });
});

describe("reading validation", () => {
  const clock = new FakeClock();
  const good = () => structuredClone(bpReading(clock)) as unknown as Record<string, unknown>;
  const comp = (r: Record<string, unknown>, i = 0) =>
    (r.components as Array<Record<string, unknown>>)[i] as Record<string, unknown>;

  it("accepts a finished reading, with or without a quarantine reason", () => {
    expect(readingProblem(good())).toBeUndefined();
    expect(readingProblem({ ...good(), quarantine: "bp-systolic outside 0..400" })).toBeUndefined();
    expect(() => validateReadings([good(), good()])).not.toThrow();
    expect(() => validateReadings([])).not.toThrow();
  });

  it("names the first field it cannot use, never a value", () => {
    const cases: Array<[string, (r: Record<string, unknown>) => void]> = [
      ["key", (r) => (r.key = "  ")],
      ["deviceId", (r) => (r.deviceId = 7)],
      ["driver", (r) => (r.driver = "")],
      ["patient", (r) => (r.patient = null)],
      ["kind", (r) => delete r.kind],
      ["components", (r) => (r.components = [])],
      ["components", (r) => (r.components = "x")],
      ["components[0] is not an object", (r) => (r.components = [null])],
      ["components[0] is not an object", (r) => (r.components = [[1]])],
      ["components[0] id", (r) => (comp(r).id = "")],
      ["components[1] value (a finite number)", (r) => (comp(r, 1).value = Number.POSITIVE_INFINITY)],
      ["components[0] value (a finite number)", (r) => (comp(r).value = "120")],
      ["components[0] unit", (r) => (comp(r).unit = " ")],
      ["components[0] code", (r) => (comp(r).code = undefined)],
      ["components[0] snomed", (r) => (comp(r).snomed = 1)],
      ["components[0] mdc", (r) => (comp(r).mdc = "150021")],
      ["measuredAt", (r) => (r.measuredAt = "yesterday")],
      ["measuredAt", (r) => (r.measuredAt = 1_700_000_000_000)],
      ["receivedAt", (r) => delete r.receivedAt],
      ["timeSource", (r) => (r.timeSource = "ntp")],
      ["flags", (r) => (r.flags = "out-of-range")],
      ["flags", (r) => (r.flags = ["ok", 3])],
      ["meta", (r) => (r.meta = null)],
      ["meta", (r) => (r.meta = [])],
      ["quarantine", (r) => (r.quarantine = "")],
      ["quarantine", (r) => (r.quarantine = 1)],
    ];
    for (const [field, spoil] of cases) {
      const r = good();
      spoil(r);
      expect(readingProblem(r), field).toBe(field);
    }
    expect(readingProblem(null)).toBe("the reading itself (not an object)");
    expect(readingProblem([good()])).toBe("the reading itself (not an object)");
    expect(readingProblem({ ...good(), snomed: undefined, timeSource: "hub-unsynced" })).toBeUndefined();
    expect(readingProblem({ ...good(), timeSource: "device" })).toBeUndefined();
  });

  it("refuses with READING_INVALID, the index, the count and the field", () => {
    const bad = good();
    bad.kind = "";
    expect(() => validateReadings([good(), bad])).toThrow(
      expect.objectContaining({
        code: "READING_INVALID",
        message: "reading 1 of 2: missing or invalid kind",
        details: { index: 1, field: "kind" },
      }),
    );
    expect(() => validateReadings("x" as unknown as unknown[])).toThrow(
      expect.objectContaining({ code: "READING_INVALID", message: "readings must be an array" }),
    );
  });
});
