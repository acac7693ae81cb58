import { describe, expect, it } from "vitest";
import type { HubBuffer } from "../../src/buffer/buffer.js";
import type { FakeClock } from "../../src/core/clock.js";
import { bpReading, bufferPerTest, makeBuffer } from "../support/buffer.js";

let buffer: HubBuffer;
let clock: FakeClock;
const tmp = bufferPerTest(
  (b) => ({ buffer, clock } = b),
  () => buffer,
);

async function seed(n: number, patient = "p1") {
  const readings = Array.from({ length: n }, () => bpReading(clock, undefined, patient));
  await buffer.ingest(readings);
  return readings;
}

describe("outbox leases", () => {
  it("claims oldest first, and never hands the same row to two leases", async () => {
    const readings = await seed(5);
    const a = buffer.outbox.claim("pkb-rest", 3);
    const b = buffer.outbox.claim("pkb-rest", 3);
    expect(a.rows.map((r) => r.item.type === "reading" && r.item.reading.key)).toEqual(
      readings.slice(0, 3).map((r) => r.key),
    );
    expect(b.rows).toHaveLength(2);
    expect(new Set([...a.rows, ...b.rows].map((r) => r.id)).size).toBe(5);
    expect(buffer.outbox.claim("pkb-rest", 3).rows).toHaveLength(0);
    expect(buffer.outbox.claim("hl7", 3).rows).toHaveLength(0);
  });

  it("completes only with the matching lease token", async () => {
    await seed(1);
    const lease = buffer.outbox.claim("pkb-rest", 1);
    const id = lease.rows[0]?.id as number;
    expect(buffer.outbox.complete("not-the-token", [id], { kind: "delivered" })).toBe(0);
    expect(buffer.stats().byState.leased).toBe(1);
    expect(buffer.outbox.complete(lease.token, [id], { kind: "delivered" })).toBe(1);
    expect(buffer.stats().byState.delivered).toBe(1);
    expect(buffer.outbox.complete(lease.token, [id], { kind: "delivered" })).toBe(0);
  });

  it("retry: spends an attempt and backs off exponentially with jitter", async () => {
    await seed(1);
    let lease = buffer.outbox.claim("pkb-rest", 1);
    const id = lease.rows[0]?.id as number;
    buffer.outbox.complete(lease.token, [id], { kind: "retry", error: "HTTP 502" });
    // attempt 1: base 1000 ms, equal jitter with random 0.5 → 750 ms
    clock.advance(749);
    expect(buffer.outbox.claim("pkb-rest", 1).rows).toHaveLength(0);
    clock.advance(1);
    lease = buffer.outbox.claim("pkb-rest", 1);
    expect(lease.rows[0]?.attempts).toBe(1);
    buffer.outbox.complete(lease.token, [id], { kind: "retry", error: "HTTP 502" });
    // attempt 2: 2000 ms → 1500 ms
    clock.advance(1499);
    expect(buffer.outbox.claim("pkb-rest", 1).rows).toHaveLength(0);
    clock.advance(1);
    expect(buffer.outbox.claim("pkb-rest", 1).rows[0]?.attempts).toBe(2);
  });

  it("Retry-After is honoured without spending an attempt", async () => {
    await seed(1);
    let lease = buffer.outbox.claim("pkb-rest", 1);
    const id = lease.rows[0]?.id as number;
    buffer.outbox.complete(lease.token, [id], { kind: "retry", error: "HTTP 429", retryAfterMs: 10_000 });
    clock.advance(9_999);
    expect(buffer.outbox.claim("pkb-rest", 1).rows).toHaveLength(0);
    clock.advance(1);
    lease = buffer.outbox.claim("pkb-rest", 1);
    expect(lease.rows[0]?.attempts).toBe(0);
  });

  it("rejected: dead letter with the reason, nothing deleted; re-sendable by hand", async () => {
    await seed(2);
    const lease = buffer.outbox.claim("pkb-rest", 2);
    const [first, second] = lease.rows.map((r) => r.id) as [number, number];
    buffer.outbox.complete(lease.token, [first], {
      kind: "rejected",
      reason: "HTTP 400: unknown measurement type",
    });
    buffer.outbox.complete(lease.token, [second], { kind: "delivered" });
    const dead = buffer.outbox.deadLetters();
    expect(dead).toEqual([
      expect.objectContaining({ id: first, reason: "HTTP 400: unknown measurement type", attempts: 1 }),
    ]);
    expect(buffer.stats()).toMatchObject({ deadLetters: 1, byState: { dead: 1, delivered: 1 } });
    expect(buffer.outbox.retryDead({ id: first })).toBe(1);
    expect(buffer.outbox.claim("pkb-rest", 5).rows.map((r) => r.id)).toEqual([first]);
  });

  it("dead-letters after the maximum number of attempts, with the last error", async () => {
    await seed(1);
    for (let i = 0; i < 5; i++) {
      clock.advance(120_000);
      const lease = buffer.outbox.claim("pkb-rest", 1);
      expect(lease.rows).toHaveLength(1);
      buffer.outbox.complete(lease.token, [lease.rows[0]?.id as number], {
        kind: "retry",
        error: `timeout ${i}`,
      });
    }
    clock.advance(120_000);
    expect(buffer.outbox.claim("pkb-rest", 1).rows).toHaveLength(0);
    expect(buffer.outbox.deadLetters()[0]?.reason).toBe("gave up after 5 attempts: timeout 4");
  });

  it("an expired lease is reclaimed (marked ambiguous) and the old token can no longer complete it", async () => {
    await seed(1);
    const lease = buffer.outbox.claim("pkb-rest", 1, 10_000);
    const id = lease.rows[0]?.id as number;
    clock.advance(9_999);
    expect(buffer.outbox.reclaimExpired()).toBe(0);
    clock.advance(1);
    expect(buffer.outbox.reclaimExpired()).toBe(1);
    const again = buffer.outbox.claim("pkb-rest", 1);
    expect(again.rows[0]).toMatchObject({ id, ambiguous: true });
    expect(buffer.outbox.complete(lease.token, [id], { kind: "delivered" })).toBe(0);
    expect(buffer.outbox.complete(again.token, [id], { kind: "delivered" })).toBe(1);
    expect(buffer.stats().ambiguousDeliveries).toBe(1);
  });

  it("after a crash every lease is reclaimed at start-up", async () => {
    await seed(3);
    buffer.outbox.claim("pkb-rest", 3);
    buffer.close();
    ({ buffer } = makeBuffer(tmp.dir, { clock }));
    expect(buffer.outbox.reclaimAll()).toBe(3);
    expect(buffer.outbox.claim("pkb-rest", 10).rows).toHaveLength(3);
  });

  it("after a crash a route's reclaimed rows wait before they are tried again (the cut-off request may still land); other routes' do not", async () => {
    await seed(2);
    await seed(1, "hl7-a");
    buffer.outbox.claim("pkb-rest", 2);
    buffer.outbox.claim("hl7", 1);
    buffer.close();
    ({ buffer } = makeBuffer(tmp.dir, { clock }));
    expect(buffer.outbox.reclaimAll({ "pkb-rest": 60_000 })).toBe(3);
    expect(buffer.outbox.claim("hl7", 10).rows).toHaveLength(1);
    clock.advance(59_999);
    expect(buffer.outbox.claim("pkb-rest", 10).rows).toEqual([]);
    clock.advance(1);
    expect(buffer.outbox.claim("pkb-rest", 10).rows.map((r) => r.ambiguous)).toEqual([true, true]);
  });

  it("extends a lease for a long send", async () => {
    await seed(1);
    const lease = buffer.outbox.claim("pkb-rest", 1, 10_000);
    clock.advance(8_000);
    expect(buffer.outbox.extend(lease.token, 10_000)).toBe(1);
    clock.advance(8_000);
    expect(buffer.outbox.reclaimExpired()).toBe(0);
  });
});

describe("outbox: per-patient ordering", () => {
  it("a patient's later readings never overtake one waiting for retry; other patients go on", async () => {
    const a = await seed(3, "hl7-a");
    const b = await seed(2, "hl7-b");
    const first = buffer.outbox.claimOrdered("hl7", 2);
    const keys = (rows: typeof first.rows) =>
      rows.map((r) => (r.item.type === "reading" ? r.item.reading.key : ""));
    expect(keys(first.rows)).toEqual([a[0]?.key, a[1]?.key, b[0]?.key, b[1]?.key]);
    // While a's batch is in flight nothing more of a is claimed.
    expect(buffer.outbox.claimOrdered("hl7", 2).rows).toHaveLength(0);
    const aIds = first.rows.filter((r) => r.patient === "hl7-a").map((r) => r.id);
    const bIds = first.rows.filter((r) => r.patient === "hl7-b").map((r) => r.id);
    buffer.outbox.complete(first.token, aIds, { kind: "retry", error: "HTTP 503" });
    buffer.outbox.complete(first.token, bIds, { kind: "delivered" });
    // a's head is backing off: a[2] must wait behind it.
    expect(buffer.outbox.claimOrdered("hl7", 2).rows).toHaveLength(0);
    clock.advance(1_000);
    const retry = buffer.outbox.claimOrdered("hl7", 5);
    expect(keys(retry.rows)).toEqual([a[0]?.key, a[1]?.key, a[2]?.key]);
  });

  it("a patient's later reading never overtakes an earlier held one; other patients go on", async () => {
    clock.synced = false;
    const held = bpReading(clock, undefined, "hl7-a");
    await buffer.ingest([held]);
    clock.synced = true;
    const later = await seed(1, "hl7-a");
    const other = await seed(1, "hl7-b");
    const first = buffer.outbox.claimOrdered("hl7", 5);
    expect(first.rows.map((r) => r.patient)).toEqual(["hl7-b"]);
    expect(first.rows[0]?.item.type === "reading" && first.rows[0].item.reading.key).toBe(other[0]?.key);
    expect(buffer.stats().byState).toMatchObject({ held: 1, pending: 1, leased: 1 });
    await buffer.releaseHeld();
    const next = buffer.outbox.claimOrdered("hl7", 5);
    expect(next.rows.map((r) => (r.item.type === "reading" ? r.item.reading.key : ""))).toEqual([
      held.key,
      later[0]?.key,
    ]);
  });

  it("quarantined and ambiguous rows do not hold back the patient's later readings; a reconciliation lease does", async () => {
    await buffer.ingest([{ ...bpReading(clock, undefined, "hl7-a"), quarantine: "impossible" }]);
    const [amb] = await seed(1, "hl7-a");
    const lease = buffer.outbox.claimOrdered("hl7", 1);
    expect(lease.rows.map((r) => r.id)).toEqual([2]);
    buffer.outbox.complete(lease.token, [2], { kind: "ambiguous", reason: "no ACK" });
    const later = await seed(1, "hl7-a");
    const reconciling = buffer.outbox.claimAmbiguous("hl7", 1);
    expect(reconciling.rows.map((r) => r.item.type === "reading" && r.item.reading.key)).toEqual([amb?.key]);
    // While reconciliation is in flight the later reading waits behind it…
    expect(buffer.outbox.claimOrdered("hl7", 5).rows).toEqual([]);
    buffer.outbox.complete(reconciling.token, [2], { kind: "ambiguous", reason: "still unknown" });
    // …and once it is back waiting for a person, the later reading goes.
    const next = buffer.outbox.claimOrdered("hl7", 5);
    expect(next.rows.map((r) => r.item.type === "reading" && r.item.reading.key)).toEqual([later[0]?.key]);
  });

  it("a dead letter does not block the patient's later readings", async () => {
    await seed(2, "hl7-a");
    const lease = buffer.outbox.claimOrdered("hl7", 1);
    buffer.outbox.complete(lease.token, [lease.rows[0]?.id as number], { kind: "rejected", reason: "AR" });
    expect(buffer.outbox.claimOrdered("hl7", 1).rows).toHaveLength(1);
  });
});

describe("documents", () => {
  it("travel through the outbox like readings, idempotent by key", async () => {
    const doc = { key: "doc-1", patient: "hl7-a", kind: "summary", title: "Device session" };
    expect(buffer.enqueueDocument(doc, "hl7")).toBe(true);
    expect(buffer.enqueueDocument(doc, "hl7")).toBe(false);
    const lease = buffer.outbox.claim("hl7", 5);
    expect(lease.rows).toHaveLength(1);
    expect(lease.rows[0]?.item).toEqual({ type: "document", document: doc });
  });
});
