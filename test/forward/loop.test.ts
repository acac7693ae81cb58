import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { HubBuffer } from "../../src/buffer/buffer.js";
import type { Lease } from "../../src/buffer/outbox.js";
import type { FakeClock } from "../../src/core/clock.js";
import { HubError } from "../../src/core/errors.js";
import { silentLogger } from "../../src/core/log.js";
import { DeliveryLoop, type Settled } from "../../src/forward/loop.js";
import { bpReading, makeBuffer } from "../support/buffer.js";
import { tempDir } from "../support/tmp.js";
import { until } from "../support/wait.js";

let tmp: ReturnType<typeof tempDir>;
let buffer: HubBuffer;
let clock: FakeClock;
let loop: DeliveryLoop | undefined;

beforeEach(() => {
  tmp = tempDir();
  ({ buffer, clock } = makeBuffer(tmp.dir));
});
afterEach(async () => {
  await loop?.stop();
  loop = undefined;
  buffer.close();
  tmp.cleanup();
});

function start(send: (lease: Lease, signal: AbortSignal) => Promise<Settled[]>, concurrency = 2) {
  loop = new DeliveryLoop({
    route: "pkb-rest",
    outbox: buffer.outbox,
    logger: silentLogger(),
    claim: (o) => o.claim("pkb-rest", 1),
    send,
    concurrency,
    idleMs: 20,
    stopGraceMs: 300,
  });
  loop.start();
  return loop;
}

describe("DeliveryLoop", () => {
  it("delivers everything with bounded concurrency", async () => {
    await buffer.ingest(Array.from({ length: 12 }, () => bpReading(clock)));
    let inFlight = 0;
    let maxInFlight = 0;
    start(async (lease) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 10));
      inFlight--;
      return [{ ids: lease.rows.map((r) => r.id), outcome: { kind: "delivered" } }];
    }, 3);
    await until(() => buffer.stats().byState.delivered === 12);
    expect(maxInFlight).toBe(3);
  });

  it("a send that throws leaves its rows for a retry, marked ambiguous, never lost", async () => {
    await buffer.ingest([bpReading(clock)]);
    start(async () => {
      throw new HubError("NETWORK", "connection reset");
    });
    await until(() => buffer.stats().byState.pending === 1 && buffer.stats().byState.leased === 0);
    await loop?.stop();
    const row = buffer.db.prepare("SELECT attempts, ambiguous, last_error FROM outbox").get();
    expect(row).toEqual({ attempts: 1, ambiguous: 1, last_error: "NETWORK: connection reset" });
  });

  it("rows a route leaves unsettled are retried, not forgotten", async () => {
    await buffer.ingest([bpReading(clock)]);
    start(async () => []);
    await until(() => (buffer.db.prepare("SELECT attempts FROM outbox").pluck().get() as number) === 1);
  });

  it("stop lets a send in flight finish within the grace period instead of cutting it off", async () => {
    await buffer.ingest([bpReading(clock)]);
    let aborted = false;
    start(async (lease, signal) => {
      let done = false;
      signal.addEventListener("abort", () => {
        aborted ||= !done;
      });
      await new Promise((r) => setTimeout(r, 100));
      done = true;
      return [{ ids: lease.rows.map((r) => r.id), outcome: { kind: "delivered" } }];
    });
    await until(() => buffer.stats().byState.leased === 1);
    await loop?.stop();
    expect(aborted).toBe(false);
    expect(buffer.stats().byState).toMatchObject({ leased: 0, delivered: 1 });
  });

  it("stop aborts sends still in flight after the grace period and waits for them", async () => {
    await buffer.ingest([bpReading(clock)]);
    let aborted = false;
    start(
      (lease, signal) =>
        new Promise((resolve) => {
          signal.addEventListener("abort", () => {
            aborted = true;
            resolve([
              {
                ids: lease.rows.map((r) => r.id),
                outcome: { kind: "retry", error: "stopping", ambiguous: true },
              },
            ]);
          });
        }),
    );
    await until(() => buffer.stats().byState.leased === 1);
    await loop?.stop();
    expect(aborted).toBe(true);
    expect(buffer.stats().byState).toMatchObject({ leased: 0, pending: 1 });
  });
});
