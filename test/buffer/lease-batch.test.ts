import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { HubBuffer } from "../../src/buffer/buffer.js";
import type { FakeClock } from "../../src/core/clock.js";
import { bpReading, makeBuffer } from "../support/buffer.js";
import { tempDir } from "../support/tmp.js";

let tmp: ReturnType<typeof tempDir>;
let buffer: HubBuffer;
let clock: FakeClock;

beforeEach(() => {
  tmp = tempDir();
  ({ buffer, clock } = makeBuffer(tmp.dir)); // leases of 30 s
});
afterEach(() => {
  buffer.close();
  tmp.cleanup();
});

const states = () => buffer.db.prepare("SELECT state FROM outbox ORDER BY id").pluck().all() as string[];

describe("batched leases (drain throughput without weaker durability)", () => {
  it("keepAlive writes nothing while more than half the lease is left, extends after, and refuses a lost lease", async () => {
    await buffer.ingest([bpReading(clock), bpReading(clock)]);
    const lease = buffer.outbox.claim("pkb-rest", 2);
    const first = lease.expiresMs;
    const changes = () => buffer.db.prepare("SELECT total_changes()").pluck().get() as number;
    const before = changes();
    clock.advance(10_000);
    expect(buffer.outbox.keepAlive(lease)).toBe(true);
    expect(lease.expiresMs).toBe(first);
    expect(changes()).toBe(before);
    clock.advance(10_000);
    expect(buffer.outbox.keepAlive(lease)).toBe(true);
    expect(lease.expiresMs).toBeGreaterThan(first);
    clock.advance(40_000);
    expect(buffer.outbox.reclaimExpired()).toBe(2);
    expect(buffer.outbox.keepAlive(lease)).toBe(false);
  });

  it("completeAll records each row of a lease by its own outcome, and nothing once the lease is spent", async () => {
    await buffer.ingest([bpReading(clock), bpReading(clock), bpReading(clock)]);
    const lease = buffer.outbox.claim("pkb-rest", 3);
    const [a, b, c] = lease.rows.map((r) => r.id) as [number, number, number];
    const n = buffer.outbox.completeAll(lease.token, [
      { ids: [a], outcome: { kind: "delivered" } },
      { ids: [b], outcome: { kind: "retry", error: "HTTP 503" } },
      { ids: [c], outcome: { kind: "rejected", reason: "HTTP 400" } },
    ]);
    expect(n).toBe(3);
    expect(states()).toEqual(["delivered", "pending", "dead"]);
    expect(buffer.outbox.completeAll(lease.token, [{ ids: [a], outcome: { kind: "delivered" } }])).toBe(0);
  });
});
