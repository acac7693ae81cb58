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
    const routed = makeBuffer(`${tmp.dir}/routed`, {
      clock,
      // The patient's route disappears between ingest() and the commit (a config reload).
      routeOf: (p) => (p === "gone" && flaky ? undefined : "pkb-rest"),
    });
    try {
      const first = bpReading(clock, undefined, "gone");
      const second = bpReading(clock, undefined, "gone");
      const unserialisable = { ...bpReading(clock), meta: { big: 1n } } as unknown as Reading;
      const good = bpReading(clock);
      const pending = [
        routed.buffer.ingest([first, second]),
        routed.buffer.ingest([unserialisable]),
        routed.buffer.ingest([good]),
      ];
      flaky = true;
      const [a, b, c] = await Promise.allSettled(pending);
      expect(a).toMatchObject({ status: "rejected", reason: { code: "READING_INVALID" } });
      expect(b).toMatchObject({ status: "rejected", reason: { code: "READING_INVALID" } });
      expect(c).toMatchObject({ status: "fulfilled", value: { stored: 1, duplicates: 0 } });
      expect(routed.buffer.db.prepare("SELECT key FROM readings").pluck().all()).toEqual([good.key]);
      expect(routed.buffer.stats()).toMatchObject({ refused: 3, byState: { pending: 1 } });
      expect(routed.buffer.commits).toBe(1);
    } finally {
      routed.buffer.close();
    }
  });
});
