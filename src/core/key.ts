import { createHash } from "node:crypto";

/**
 * When the record happened, as far as it identifies the record (see key.md):
 * - `local`: the device's own wall time exactly as sent (zone-free), plus the UTC offset when a
 *   DST overlap was resolved with certainty (the same wall time then names two different instants);
 * - `receivedAtMs` + `token`: the record has no identity of its own in time (no device time, or a DST overlap the
 *   hub cannot resolve): the hub's receipt instant plus a token unique to this receipt.
 */
export type KeyTime = { local: string; offsetMin?: number } | { receivedAtMs: number; token: string };

export interface KeyInput {
  deviceId: string;
  /** The local patient key the record is bound to. */
  patient: string;
  /** The device's user slot (shared BP monitors, scales), when it sends one. */
  userSlot?: number | undefined;
  kind: string;
  time: KeyTime;
  seq?: number | undefined;
  /** Values as the device sent them, in the device's unit (before conversion and rounding). */
  values: ReadonlyArray<{ id: string; value: number; unit: string }>;
}

/**
 * Deterministic idempotency key, version 2. Built from what the device sent (its raw timestamp and
 * sequence number), not from converted UTC, so a hub time zone change cannot turn one reading into
 * two; and from everything that tells two records apart (patient, user slot), so two records are
 * never merged. Exactly which records it may merge is written down in key.md beside this file.
 *
 * Version 2 replaced version 1 (device, kind, time, seq, values: no patient, no slot, one key for
 * both 01:30s of a DST overlap) before any hub was installed, so no stored v1 key needs a transition.
 */
export function idempotencyKey(input: KeyInput): string {
  const values = [...input.values]
    .map((c) => [c.id, c.value, c.unit] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const t = input.time;
  const time = "local" in t ? ["device", t.local, t.offsetMin ?? null] : ["receipt", t.receivedAtMs, t.token];
  const canonical = JSON.stringify([
    "v2",
    input.deviceId,
    input.patient,
    input.userSlot ?? null,
    input.kind,
    time,
    input.seq ?? null,
    values,
  ]);
  return createHash("sha256").update(canonical).digest("base64url");
}
