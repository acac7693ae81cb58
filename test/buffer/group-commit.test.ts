import { describe, expect, it } from "vitest";
import type { HubBuffer } from "../../src/buffer/buffer.js";
import type { FakeClock } from "../../src/core/clock.js";
import type { Reading } from "../../src/core/reading.js";
import { bpReading, bufferPerTest, makeBuffer } from "../support/buffer.js";

let buffer: HubBuffer;
let clock: FakeClock;
const tmp = bufferPerTest(
  (b) => ({ buffer, clock } = b),
  () => buffer,
);

const storedKeys = () => buffer.db.prepare("SELECT key FROM readings ORDER BY id").pluck().all();

/** Runs `test` on a second buffer whose routes come from `routeOf`, and closes it. */
async function withRoutes(
  routeOf: (patient: string) => string | undefined,
  test: (b: HubBuffer) => Promise<void>,
): Promise<void> {
  const other = makeBuffer(`${tmp.dir}/routed`, { clock, routeOf });
  try {
    await test(other.buffer);
  } finally {
    other.buffer.close();
  }
}

/** Removes one field (by path) from a copy of the reading. */
function without(r: Reading, field: string): Reading {
  const copy = structuredClone(r) as unknown as Record<string, unknown>;
  if (field.startsWith("components.")) {
    const c = (copy.components as Array<Record<string, unknown>>)[0] as Record<string, unknown>;
    delete c[field.slice("components.".length)];
  } else delete copy[field];
  return copy as unknown as Reading;
}

describe("group commit: one bad reading never sinks the others", () => {
  it("a reading with a missing field is refused alone with READING_INVALID naming the field; the others in the same commit are stored", async () => {
    const fields = [
      "key",
      "deviceId",
      "driver",
      "patient",
      "kind",
      "components",
      "components.value",
      "components.unit",
      "components.code",
      "measuredAt",
      "receivedAt",
      "timeSource",
      "flags",
      "meta",
    ];
    for (const field of fields) {
      const before = buffer.commits;
      const good = [
        bpReading(clock, undefined, "p1", "dev-a"),
        bpReading(clock, undefined, "hl7-b", "dev-b"),
      ];
      const bad = without(bpReading(clock, undefined, "p1", "dev-c"), field);
      const [a, b, c] = await Promise.allSettled([
        buffer.ingest([good[0] as Reading]),
        buffer.ingest([bad]),
        buffer.ingest([good[1] as Reading]),
      ]);
      expect(a).toMatchObject({ status: "fulfilled", value: { stored: 1 } });
      expect(c).toMatchObject({ status: "fulfilled", value: { stored: 1 } });
      expect(b).toMatchObject({
        status: "rejected",
        reason: {
          code: "READING_INVALID",
          details: { index: 0, field: expect.stringContaining(field.split(".")[0] as string) },
        },
      });
      expect((b as PromiseRejectedResult).reason.message).toMatch(/^reading 0 of 1: missing or invalid /);
      expect(buffer.commits - before).toBe(1);
      expect(storedKeys().slice(-2)).toEqual(good.map((r) => r.key));
    }
  });

  it("a non-finite value is refused before the transaction, never stored", async () => {
    const r = bpReading(clock);
    const bad = {
      ...r,
      components: [{ ...(r.components[0] as Reading["components"][0]), value: Number.NaN }],
    };
    await expect(buffer.ingest([bad])).rejects.toMatchObject({
      code: "READING_INVALID",
      message: "reading 0 of 1: missing or invalid components[0] value (a finite number)",
    });
    expect(storedKeys()).toEqual([]);
  });

  it("a caller whose readings fail inside the shared transaction is rolled back alone; the other callers are stored", async () => {
    let flaky = false;
    // The patient's route disappears between ingest() and the commit (a config reload).
    await withRoutes(
      (p) => (p === "gone" && flaky ? undefined : "pkb-rest"),
      async (routed) => {
        const first = bpReading(clock, undefined, "gone");
        const second = bpReading(clock, undefined, "gone");
        const unserialisable = { ...bpReading(clock), meta: { big: 1n } } as unknown as Reading;
        const good = bpReading(clock);
        const pending = [
          routed.ingest([first, second]),
          routed.ingest([unserialisable]),
          routed.ingest([good]),
        ];
        flaky = true;
        const [a, b, c] = await Promise.allSettled(pending);
        expect(a).toMatchObject({ status: "rejected", reason: { code: "READING_INVALID" } });
        expect(b).toMatchObject({ status: "rejected", reason: { code: "READING_INVALID" } });
        expect(c).toMatchObject({ status: "fulfilled", value: { stored: 1, duplicates: 0 } });
        expect(routed.db.prepare("SELECT key FROM readings").pluck().all()).toEqual([good.key]);
        expect(routed.stats()).toMatchObject({ refused: 3, byState: { pending: 1 } });
        expect(routed.commits).toBe(1);
      },
    );
  });
});

describe("group commit: one bad reading never sinks its batch-mates from the same caller", () => {
  it("one ingest() of good and bad readings stores the good ones and refuses each bad one alone, by its index, with READING_INVALID", async () => {
    const good = [bpReading(clock), bpReading(clock, undefined, "hl7-b"), bpReading(clock)];
    const noKind = without(bpReading(clock), "kind");
    const nan = bpReading(clock);
    (nan.components[0] as Reading["components"][0]).value = Number.NaN;
    const before = buffer.commits;
    const result = await buffer.ingest([good[0], noKind, good[1], nan, good[2]] as Reading[]);
    expect(result).toMatchObject({ stored: 3, duplicates: 0 });
    expect(result.refused.map((r) => [r.index, r.error.code, r.error.details, r.error.retryable])).toEqual([
      [1, "READING_INVALID", { index: 1, field: "kind" }, false],
      [3, "READING_INVALID", { index: 3, field: "components[0] value (a finite number)" }, false],
    ]);
    expect(result.refused[0]?.error.message).toBe("reading 1 of 5: missing or invalid kind");
    expect(storedKeys()).toEqual(good.map((r) => r.key));
    expect(buffer.commits - before).toBe(1);
    expect(buffer.stats()).toMatchObject({ refused: 2, byState: { pending: 3 } });
  });

  it("a reading that fails inside the shared transaction is rolled back alone; the same caller's other readings are stored", async () => {
    let gone = false;
    // The patient's route disappears between ingest() and the commit (a config reload).
    await withRoutes(
      (p) => (p === "gone" && gone ? undefined : "pkb-rest"),
      async (routed) => {
        const good = [bpReading(clock), bpReading(clock)];
        const pending = routed.ingest([good[0], bpReading(clock, undefined, "gone"), good[1]] as Reading[]);
        gone = true;
        const result = await pending;
        expect(result).toMatchObject({ stored: 2, duplicates: 0 });
        // Not the reading's fault: the device may send it again once the route is back.
        expect(result.refused.map((r) => [r.index, r.error.code, r.error.retryable])).toEqual([
          [1, "READING_INVALID", true],
        ]);
        expect(routed.db.prepare("SELECT key FROM readings ORDER BY id").pluck().all()).toEqual(
          good.map((r) => r.key),
        );
        expect(routed.stats()).toMatchObject({ refused: 1, byState: { pending: 2 } });
      },
    );
  });

  it("a reading that cannot be serialised is refused before the transaction, for good; a reading for a patient with no route is refused for now", async () => {
    await withRoutes(
      (p) => (p === "ghost" ? undefined : "pkb-rest"),
      async (noRoute) => {
        const good = bpReading(clock);
        const unserialisable = { ...bpReading(clock), meta: { big: 1n } } as unknown as Reading;
        const ghost = bpReading(clock, undefined, "ghost");
        const result = await noRoute.ingest([unserialisable, good, ghost]);
        expect(result).toMatchObject({ stored: 1 });
        expect(result.refused.map((r) => [r.index, r.error.details.field, r.error.retryable])).toEqual([
          [0, "body (cannot be serialised)", false],
          [2, "patient (no configured route)", true],
        ]);
        // Every reading refused: nothing of the call was stored, the promise rejects (retryable if any is).
        await expect(noRoute.ingest([unserialisable, ghost])).rejects.toMatchObject({
          code: "READING_INVALID",
          retryable: true,
          message:
            "2 of 2 readings refused; the first: reading 0 of 2: missing or invalid body (cannot be serialised)",
        });
        expect(noRoute.stats()).toMatchObject({ refused: 4, byState: { pending: 1 } });
      },
    );
  });
});
