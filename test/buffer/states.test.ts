import { describe, expect, it } from "vitest";
import type { HubBuffer } from "../../src/buffer/buffer.js";
import type { FakeClock } from "../../src/core/clock.js";
import { bpReading, bufferPerTest, outboxStates, seedReadings, sendOnce } from "../support/buffer.js";

let buffer: HubBuffer;
let clock: FakeClock;
const _tmp = bufferPerTest(
  (b) => ({ buffer, clock } = b),
  () => buffer,
);

const QUARANTINE = "bp-systolic outside its hard limits (0..400 mm[Hg])";

describe("outbox: quarantined readings", () => {
  it("a reading with a physically impossible value is stored quarantined with its reason and never claimed", async () => {
    const bad = { ...bpReading(clock, undefined, "hl7-a"), quarantine: QUARANTINE };
    const good = bpReading(clock, undefined, "hl7-a");
    expect(await buffer.ingest([bad, good])).toMatchObject({ stored: 2, duplicates: 0 });
    expect(outboxStates(buffer).map((r) => r.state)).toEqual(["quarantined", "pending"]);
    expect(buffer.outbox.rowsInState("quarantined")).toEqual([
      expect.objectContaining({ id: 1, route: "hl7", reason: QUARANTINE, attempts: 0 }),
    ]);
    expect(buffer.outbox.claim("hl7", 10).rows.map((r) => r.id)).toEqual([2]);
    expect(buffer.outbox.claimOrdered("hl7", 10).rows).toEqual([]);
    expect(buffer.outbox.claimAmbiguous("hl7", 10).rows).toEqual([]);
    clock.advance(3_600_000);
    buffer.outbox.reclaimAll();
    await buffer.housekeeping();
    expect(outboxStates(buffer)[0]?.state).toBe("quarantined");
    expect(buffer.stats()).toMatchObject({ quarantined: 1, byState: { quarantined: 1, pending: 1 } });
  });

  it("quarantine wins over held: an impossible value read while the clock is unsynchronised is never released", async () => {
    clock.synced = false;
    await buffer.ingest([{ ...bpReading(clock), quarantine: QUARANTINE }]);
    clock.synced = true;
    expect(await buffer.releaseHeld()).toEqual({ released: 0, unrecoverable: 0 });
    expect(outboxStates(buffer)).toEqual([{ id: 1, state: "quarantined" }]);
  });
});

describe("outbox: ambiguous deliveries", () => {
  it("an ambiguous outcome parks the row, raises AMBIGUOUS_DELIVERY and never re-sends it", async () => {
    await seedReadings(buffer, clock, 2);
    const id = sendOnce(buffer, "pkb-rest", { kind: "ambiguous", reason: "HTTP 200 without a readable ACK" });
    expect(outboxStates(buffer)).toEqual([
      { id, state: "ambiguous" },
      { id: 2, state: "pending" },
    ]);
    expect(buffer.activeAlerts().map((a) => a.code)).toEqual(["AMBIGUOUS_DELIVERY"]);
    expect(buffer.activeAlerts()[0]?.message).toContain("1 delivery has an unknown outcome");
    expect(buffer.outbox.rowsInState("ambiguous")).toEqual([
      expect.objectContaining({ id, attempts: 1, reason: "HTTP 200 without a readable ACK" }),
    ]);
    // Time passes, leases expire, the agent restarts: the row is never claimed for sending again.
    clock.advance(86_400_000);
    buffer.outbox.reclaimAll();
    await buffer.housekeeping();
    expect(buffer.outbox.claim("pkb-rest", 10).rows.map((r) => r.id)).toEqual([2]);
    expect(buffer.stats()).toMatchObject({ ambiguous: 1, byState: { ambiguous: 1, leased: 1 } });
  });

  it("resolve --as delivered settles it and clears the alert once none is left", async () => {
    await seedReadings(buffer, clock, 2);
    const a = sendOnce(buffer, "pkb-rest", { kind: "ambiguous", reason: "timeout after send" });
    const b = sendOnce(buffer, "pkb-rest", { kind: "ambiguous", reason: "timeout after send" });
    expect(buffer.activeAlerts()[0]?.message).toContain("2 deliveries have an unknown outcome");
    buffer.outbox.resolveAmbiguous(a, "delivered");
    expect(buffer.activeAlerts()[0]?.message).toContain("1 delivery has an unknown outcome");
    buffer.outbox.resolveAmbiguous(b, "delivered");
    expect(buffer.activeAlerts()).toEqual([]);
    expect(outboxStates(buffer).map((r) => r.state)).toEqual(["delivered", "delivered"]);
    expect(buffer.stats()).toMatchObject({ ambiguous: 0, ambiguousDeliveries: 2 });
  });

  it("resolve --as resend queues it again, flagged as possibly sent", async () => {
    await seedReadings(buffer, clock, 1);
    const id = sendOnce(buffer, "pkb-rest", { kind: "ambiguous", reason: "x" });
    buffer.outbox.resolveAmbiguous(id, "resend");
    const again = buffer.outbox.claim("pkb-rest", 5);
    expect(again.rows.map((r) => ({ id: r.id, ambiguous: r.ambiguous, attempts: r.attempts }))).toEqual([
      { id, ambiguous: true, attempts: 1 },
    ]);
    expect(buffer.activeAlerts()).toEqual([]);
  });

  it("only an ambiguous row can be resolved and only a dead letter retried by id", async () => {
    await seedReadings(buffer, clock, 2);
    const dead = sendOnce(buffer, "pkb-rest", { kind: "rejected", reason: "AR" });
    const amb = sendOnce(buffer, "pkb-rest", { kind: "ambiguous", reason: "x" });
    expect(() => buffer.outbox.resolveAmbiguous(dead, "resend")).toThrow(
      expect.objectContaining({
        code: "OUTBOX_STATE",
        message: expect.stringContaining("is dead, not ambiguous"),
      }),
    );
    expect(() => buffer.outbox.retryDead({ id: amb })).toThrow(
      expect.objectContaining({
        code: "OUTBOX_STATE",
        message: expect.stringContaining("is ambiguous, not dead"),
      }),
    );
    expect(() => buffer.outbox.retryDead({ id: 99 })).toThrow(
      expect.objectContaining({ code: "OUTBOX_STATE", message: "there is no outbox row 99" }),
    );
    expect(outboxStates(buffer).map((r) => r.state)).toEqual(["dead", "ambiguous"]);
    // Retrying every dead letter never touches an ambiguous row.
    expect(buffer.outbox.retryDead()).toBe(1);
    expect(outboxStates(buffer).map((r) => r.state)).toEqual(["pending", "ambiguous"]);
  });

  it("claimAmbiguous leases ambiguous rows for reconciliation; an expired lease returns them to ambiguous", async () => {
    await seedReadings(buffer, clock, 1);
    const id = sendOnce(buffer, "pkb-rest", { kind: "ambiguous", reason: "x" });
    const lease = buffer.outbox.claimAmbiguous("pkb-rest", 5, 10_000);
    expect(lease.rows.map((r) => ({ id: r.id, ambiguous: r.ambiguous }))).toEqual([{ id, ambiguous: true }]);
    expect(buffer.outbox.claimAmbiguous("pkb-rest", 5).rows).toEqual([]);
    clock.advance(10_000);
    expect(buffer.outbox.reclaimExpired()).toBe(1);
    expect(outboxStates(buffer)).toEqual([{ id, state: "ambiguous" }]);
    expect(buffer.outbox.claim("pkb-rest", 5).rows).toEqual([]);
    // Reconciliation that finds the reading in the record completes the row.
    const again = buffer.outbox.claimAmbiguous("pkb-rest", 5);
    expect(buffer.outbox.complete(again.token, [id], { kind: "delivered" })).toBe(1);
    expect(outboxStates(buffer)).toEqual([{ id, state: "delivered" }]);
  });
});
