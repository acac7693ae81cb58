import { describe, expect, it } from "vitest";
import type { HubBuffer } from "../../src/buffer/buffer.js";
import type { FakeClock } from "../../src/core/clock.js";
import { bufferPerTest, outboxStates, seedReadings, sendOnce } from "../support/buffer.js";

let buffer: HubBuffer;
let clock: FakeClock;
const _tmp = bufferPerTest(
  (b) => ({ buffer, clock } = b),
  () => buffer,
);

const row = (id: number) =>
  buffer.db
    .prepare(
      "SELECT state, attempts, last_error, reason, ambiguous, lease_token, lease_expires_ms, available_ms FROM outbox WHERE id = ?",
    )
    .get(id) as Record<string, unknown>;

describe("outbox: claims", () => {
  it("claim takes the rows ready longest first, then by id, up to the limit, and stamps the lease", async () => {
    await seedReadings(buffer, clock, 3);
    const first = buffer.outbox.claim("pkb-rest", 1);
    clock.advance(5);
    buffer.outbox.complete(first.token, [1], { kind: "retry", error: "x", retryAfterMs: 0 });
    const lease = buffer.outbox.claim("pkb-rest", 2, 7_000);
    // Row 1 became ready again after rows 2 and 3 (available later): they go first.
    expect(lease.rows.map((r) => r.id)).toEqual([2, 3]);
    expect(lease.expiresMs).toBe(buffer.timebase.nowMs() + 7_000);
    expect(row(2)).toMatchObject({
      state: "leased",
      lease_token: lease.token,
      lease_expires_ms: lease.expiresMs,
    });
    expect(buffer.outbox.claim("pkb-rest", 5).rows.map((r) => r.id)).toEqual([1]);
  });

  it("claimOrdered takes at most perPatient rows per patient and stops after maxPatients patients' worth", async () => {
    for (const p of ["hl7-a", "hl7-b", "hl7-c"]) await seedReadings(buffer, clock, 3, p);
    const lease = buffer.outbox.claimOrdered("hl7", 2, 2);
    expect(lease.rows.map((r) => `${r.patient}:${r.id}`)).toEqual([
      "hl7-a:1",
      "hl7-a:2",
      "hl7-b:4",
      "hl7-b:5",
    ]);
    expect(buffer.outbox.claimOrdered("hl7", 1, 1, 9_000).expiresMs).toBe(buffer.timebase.nowMs() + 9_000);
    expect(
      outboxStates(buffer)
        .filter((r) => r.state === "leased")
        .map((r) => r.id),
    ).toEqual([1, 2, 4, 5, 7]);
  });

  it("claimAmbiguous takes the oldest ambiguous rows of that route only, up to n", async () => {
    await seedReadings(buffer, clock, 3);
    await seedReadings(buffer, clock, 1, "hl7-a");
    for (let i = 0; i < 3; i++) sendOnce(buffer, "pkb-rest", { kind: "ambiguous", reason: `r${i}` });
    sendOnce(buffer, "hl7", { kind: "ambiguous", reason: "h" });
    const lease = buffer.outbox.claimAmbiguous("pkb-rest", 2, 4_000);
    expect(lease.rows.map((r) => r.id)).toEqual([1, 2]);
    expect(lease.expiresMs).toBe(buffer.timebase.nowMs() + 4_000);
    expect(buffer.outbox.claimAmbiguous("hl7", 5).rows.map((r) => r.id)).toEqual([4]);
  });
});

describe("outbox: completions", () => {
  it("retry records the error and flags a possibly-sent row; Retry-After below zero means now", async () => {
    await seedReadings(buffer, clock, 2);
    const lease = buffer.outbox.claim("pkb-rest", 2);
    buffer.outbox.complete(lease.token, [1], { kind: "retry", error: "HTTP 503", ambiguous: true });
    buffer.outbox.complete(lease.token, [2], { kind: "retry", error: "HTTP 429", retryAfterMs: -5_000 });
    const now = buffer.timebase.nowMs();
    expect(row(1)).toMatchObject({
      state: "pending",
      attempts: 1,
      last_error: "HTTP 503",
      ambiguous: 1,
      lease_token: null,
      available_ms: now + 750,
    });
    expect(row(2)).toMatchObject({
      state: "pending",
      attempts: 0,
      last_error: "HTTP 429",
      ambiguous: 0,
      available_ms: now,
    });
    // A later plain retry keeps the flag: the earlier attempt may still have reached PKB.
    clock.advance(750);
    const again = buffer.outbox.claim("pkb-rest", 1);
    expect(again.rows[0]).toMatchObject({ id: 2, ambiguous: false });
    const third = buffer.outbox.claim("pkb-rest", 1);
    expect(third.rows[0]).toMatchObject({ id: 1, ambiguous: true, attempts: 1 });
    buffer.outbox.complete(third.token, [1], { kind: "retry", error: "HTTP 502" });
    expect(row(1)).toMatchObject({ ambiguous: 1, attempts: 2 });
  });

  it("a completion with a stale token changes nothing, whatever the outcome", async () => {
    await seedReadings(buffer, clock, 1);
    const lease = buffer.outbox.claim("pkb-rest", 1);
    const before = row(1);
    for (const outcome of [
      { kind: "delivered" },
      { kind: "retry", error: "x" },
      { kind: "retry", error: "x", retryAfterMs: 5 },
      { kind: "rejected", reason: "AR" },
      { kind: "ambiguous", reason: "?" },
    ] as const) {
      expect(buffer.outbox.complete("stale", [1], outcome)).toBe(0);
    }
    expect(row(1)).toEqual(before);
    expect(buffer.activeAlerts()).toEqual([]);
    expect(buffer.outbox.complete(lease.token, [1, 99], { kind: "delivered" })).toBe(1);
  });

  it("rejected and ambiguous count the attempt and keep the reason; dead letters keep the flag of an earlier possible send", async () => {
    await seedReadings(buffer, clock, 2);
    let lease = buffer.outbox.claim("pkb-rest", 1);
    buffer.outbox.complete(lease.token, [1], { kind: "retry", error: "timeout", ambiguous: true });
    clock.advance(1_000);
    lease = buffer.outbox.claim("pkb-rest", 2);
    buffer.outbox.complete(lease.token, [1], { kind: "rejected", reason: "AR: bad" });
    buffer.outbox.complete(lease.token, [2], { kind: "ambiguous", reason: "no ACK" });
    expect(row(1)).toMatchObject({
      state: "dead",
      attempts: 2,
      reason: "AR: bad",
      ambiguous: 1,
      lease_token: null,
    });
    expect(row(2)).toMatchObject({
      state: "ambiguous",
      attempts: 1,
      reason: "no ACK",
      ambiguous: 1,
      lease_token: null,
      last_error: "outcome unknown: may have been processed",
    });
  });

  it("reclaim marks the rows possibly sent and says why", async () => {
    await seedReadings(buffer, clock, 1);
    buffer.outbox.claim("pkb-rest", 1, 1_000);
    clock.advance(1_000);
    expect(buffer.outbox.reclaimExpired()).toBe(1);
    expect(row(1)).toMatchObject({
      state: "pending",
      ambiguous: 1,
      lease_token: null,
      lease_expires_ms: null,
      last_error: "lease expired: the agent stopped or stalled while sending",
    });
  });

  it("extend reports how many rows the lease still holds", async () => {
    await seedReadings(buffer, clock, 2);
    const lease = buffer.outbox.claim("pkb-rest", 2);
    expect(buffer.outbox.extend(lease.token, 1_000)).toBe(2);
    expect(row(1).lease_expires_ms).toBe(buffer.timebase.nowMs() + 1_000);
    expect(buffer.outbox.extend("stale")).toBe(0);
  });
});

describe("outbox: rows waiting for a person", () => {
  it("retryDead by route re-queues only that route's dead letters, resetting attempts", async () => {
    await seedReadings(buffer, clock, 2);
    await seedReadings(buffer, clock, 1, "hl7-a");
    sendOnce(buffer, "pkb-rest", { kind: "rejected", reason: "a" });
    sendOnce(buffer, "pkb-rest", { kind: "rejected", reason: "b" });
    sendOnce(buffer, "hl7", { kind: "rejected", reason: "c" });
    expect(buffer.outbox.retryDead({ route: "hl7" })).toBe(1);
    expect(row(3)).toMatchObject({
      state: "pending",
      attempts: 0,
      reason: null,
      last_error: "dead letter re-queued by hand",
    });
    expect(outboxStates(buffer).map((r) => r.state)).toEqual(["dead", "dead", "pending"]);
    expect(buffer.outbox.retryDead({ route: "none" })).toBe(0);
  });

  it("rowsInState lists the newest `limit` rows of a state, oldest first, with their reasons", async () => {
    await seedReadings(buffer, clock, 4);
    for (let i = 0; i < 4; i++) {
      clock.advance(1_000);
      sendOnce(buffer, "pkb-rest", { kind: "rejected", reason: `reason ${i}` });
    }
    const rows = buffer.outbox.rowsInState("dead", 2);
    expect(rows).toEqual([
      {
        id: 3,
        route: "pkb-rest",
        patient: "p1",
        attempts: 1,
        reason: "reason 2",
        createdMs: clock.wallMs - 4_000,
        doneMs: clock.wallMs - 1_000,
      },
      {
        id: 4,
        route: "pkb-rest",
        patient: "p1",
        attempts: 1,
        reason: "reason 3",
        createdMs: clock.wallMs - 4_000,
        doneMs: clock.wallMs,
      },
    ]);
    expect(buffer.outbox.deadLetters(1).map((d) => d.id)).toEqual([4]);
    expect(buffer.outbox.deadLetters().map((d) => d.id)).toEqual([1, 2, 3, 4]);
    expect(buffer.outbox.rowsInState("ambiguous")).toEqual([]);
  });

  it("resolve --as delivered stamps the completion time; resend makes the row ready now", async () => {
    await seedReadings(buffer, clock, 2);
    sendOnce(buffer, "pkb-rest", { kind: "ambiguous", reason: "x" });
    sendOnce(buffer, "pkb-rest", { kind: "ambiguous", reason: "y" });
    clock.advance(5_000);
    buffer.outbox.resolveAmbiguous(1, "delivered");
    buffer.outbox.resolveAmbiguous(2, "resend");
    expect(buffer.db.prepare("SELECT done_ms FROM outbox WHERE id = 1").pluck().get()).toBe(clock.wallMs);
    expect(row(1)).toMatchObject({
      state: "delivered",
      reason: null,
      last_error: "settled by hand: found delivered",
    });
    expect(row(2)).toMatchObject({
      state: "pending",
      reason: null,
      available_ms: buffer.timebase.nowMs(),
      last_error: "settled by hand: not delivered, to be re-sent",
    });
    expect(buffer.db.prepare("SELECT done_ms FROM outbox WHERE id = 2").pluck().get()).toBeNull();
    expect(() => buffer.outbox.resolveAmbiguous(42, "delivered")).toThrow("there is no outbox row 42");
  });

  it("the alert says when the first ambiguous row appeared and never names a patient or reason", async () => {
    await seedReadings(buffer, clock, 1, "hl7-secret-patient");
    sendOnce(buffer, "hl7", { kind: "ambiguous", reason: "PKB said: Jane Example" });
    const [alert] = buffer.activeAlerts();
    expect(alert).toEqual({
      code: "AMBIGUOUS_DELIVERY",
      message:
        "1 delivery has an unknown outcome: check the record in PKB, then run 'pkb-hub outbox resolve --id N --as delivered|resend'",
      raisedMs: clock.wallMs,
    });
  });
});
