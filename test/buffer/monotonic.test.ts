import { describe, expect, it } from "vitest";
import type { HubBuffer } from "../../src/buffer/buffer.js";
import { FakeClock } from "../../src/core/clock.js";
import { bufferPerTest, makeBuffer, outboxStates, seedReadings } from "../support/buffer.js";

let buffer: HubBuffer;
let clock: FakeClock;
const tmp = bufferPerTest(
  (b) => ({ buffer, clock } = b),
  () => buffer,
);

const HOUR = 3_600_000;

describe("leases, backoff and Retry-After run on monotonic time within a boot", () => {
  it("an NTP step forward in the middle of a send neither expires the lease nor lets a second claim send the row again", async () => {
    await seedReadings(buffer, clock, 1, "hl7-a");
    const lease = buffer.outbox.claimOrdered("hl7", 5);
    expect(lease.rows).toHaveLength(1);
    clock.wallMs += HOUR; // the send is in flight when the clock steps
    clock.monoMs += 1_000;
    expect(buffer.outbox.reclaimExpired()).toBe(0);
    expect((await buffer.housekeeping()).reclaimed).toBe(0);
    expect(buffer.outbox.claimOrdered("hl7", 5).rows).toEqual([]);
    expect(buffer.outbox.claim("hl7", 5).rows).toEqual([]);
    expect(buffer.outbox.complete(lease.token, [lease.rows[0]?.id as number], { kind: "delivered" })).toBe(1);
    expect(outboxStates(buffer)).toEqual([{ id: 1, state: "delivered" }]);
  });

  it("an NTP step backward in the middle of a send strands nothing: a stalled lease still expires on time", async () => {
    await seedReadings(buffer, clock, 1);
    buffer.outbox.claim("pkb-rest", 1); // the agent stalls and never completes
    clock.wallMs -= HOUR;
    clock.advance(29_999);
    expect(buffer.outbox.reclaimExpired()).toBe(0);
    clock.advance(1);
    expect(buffer.outbox.reclaimExpired()).toBe(1);
    expect(
      buffer.outbox.claim("pkb-rest", 1).rows.map((r) => ({ id: r.id, ambiguous: r.ambiguous })),
    ).toEqual([{ id: 1, ambiguous: true }]);
  });

  it("backoff and Retry-After waits end on time when the wall clock steps back after they were set", async () => {
    await seedReadings(buffer, clock, 2);
    const lease = buffer.outbox.claim("pkb-rest", 2);
    const [a, b] = lease.rows.map((r) => r.id) as [number, number];
    buffer.outbox.complete(lease.token, [a], { kind: "retry", error: "HTTP 502" }); // backoff 750 ms
    buffer.outbox.complete(lease.token, [b], { kind: "retry", error: "HTTP 429", retryAfterMs: 10_000 });
    clock.wallMs -= HOUR;
    clock.advance(749);
    expect(buffer.outbox.claim("pkb-rest", 5).rows).toEqual([]);
    clock.advance(1);
    expect(buffer.outbox.claim("pkb-rest", 5).rows.map((r) => r.id)).toEqual([a]);
    clock.wallMs += 2 * HOUR; // and forward again: the Retry-After wait is not cut short
    clock.advance(9_249);
    expect(buffer.outbox.claim("pkb-rest", 5).rows).toEqual([]);
    clock.advance(1);
    expect(buffer.outbox.claim("pkb-rest", 5).rows.map((r) => r.id)).toEqual([b]);
  });

  it("a not-before wait (a request that may still land) outlasts a shorter backoff or Retry-After, on monotonic time", async () => {
    await seedReadings(buffer, clock, 2);
    const lease = buffer.outbox.claim("pkb-rest", 2);
    const [a, b] = lease.rows.map((r) => r.id) as [number, number];
    const wait = { ambiguous: true, notBeforeMs: 60_000 } as const;
    buffer.outbox.complete(lease.token, [a], { kind: "retry", error: "request timed out", ...wait });
    buffer.outbox.complete(lease.token, [b], {
      kind: "retry",
      error: "HTTP 503",
      retryAfterMs: 1_000,
      ...wait,
    });
    clock.wallMs += HOUR; // a wall-clock step does not cut the wait short
    clock.advance(59_999);
    expect(buffer.outbox.claim("pkb-rest", 5).rows).toEqual([]);
    clock.advance(1);
    expect(buffer.outbox.claim("pkb-rest", 5).rows.map((r) => r.id)).toEqual([a, b]);
  });

  it("extending a lease is measured on monotonic time too", async () => {
    await seedReadings(buffer, clock, 1);
    const lease = buffer.outbox.claim("pkb-rest", 1, 10_000);
    clock.advance(8_000);
    expect(buffer.outbox.extend(lease.token, 10_000)).toBe(1);
    clock.wallMs += HOUR;
    clock.advance(9_999);
    expect(buffer.outbox.reclaimExpired()).toBe(0);
    clock.advance(1);
    expect(buffer.outbox.reclaimExpired()).toBe(1);
  });
});

describe("across a reboot the wall clock bridges the gap", () => {
  async function backingOff(): Promise<number> {
    await seedReadings(buffer, clock, 1);
    const lease = buffer.outbox.claim("pkb-rest", 1);
    const id = lease.rows[0]?.id as number;
    buffer.outbox.complete(lease.token, [id], { kind: "retry", error: "HTTP 429", retryAfterMs: 60_000 });
    clock.advance(5_000);
    buffer.close();
    return id;
  }

  it("the remaining wait continues after a reboot, less the wall-clock time the hub was down", async () => {
    const id = await backingOff();
    // 10 s later the hub is back: monotonic time restarted, a new boot id.
    clock = new FakeClock(clock.wallMs + 10_000, true, 2_000, "boot-2");
    ({ buffer } = makeBuffer(tmp.dir, { clock }));
    clock.advance(44_999);
    expect(buffer.outbox.claim("pkb-rest", 1).rows).toEqual([]);
    clock.advance(1);
    expect(buffer.outbox.claim("pkb-rest", 1).rows.map((r) => r.id)).toEqual([id]);
  });

  it("a wall clock that went back across the reboot never strands the row beyond its remaining wait", async () => {
    const id = await backingOff();
    // An RTC-less hub boots a day in the past.
    clock = new FakeClock(clock.wallMs - 24 * HOUR, false, 2_000, "boot-2");
    ({ buffer } = makeBuffer(tmp.dir, { clock }));
    clock.advance(54_999);
    expect(buffer.outbox.claim("pkb-rest", 1).rows).toEqual([]);
    clock.advance(1);
    expect(buffer.outbox.claim("pkb-rest", 1).rows.map((r) => r.id)).toEqual([id]);
  });

  it("a second process of the same boot (the CLI) shares the agent's timebase", async () => {
    await seedReadings(buffer, clock, 1);
    clock.wallMs += HOUR; // the wall clock stepped after the agent opened the buffer
    const cli = makeBuffer(tmp.dir, { clock });
    try {
      expect(cli.buffer.timebase.nowMs()).toBe(buffer.timebase.nowMs());
    } finally {
      cli.buffer.close();
    }
  });
});
