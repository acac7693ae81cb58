import { createHash } from "node:crypto";

export interface KeyInput {
  deviceId: string;
  kind: string;
  /** What the device sent as its own time (zone-free) or, lacking that, the hub's instant. */
  time: string;
  seq?: number | undefined;
  values: ReadonlyArray<{ id: string; value: number; unit: string }>;
}

/**
 * Deterministic idempotency key. Built from what the device sent (its raw timestamp and sequence
 * number), not from converted UTC, so a hub time zone change cannot turn one reading into two.
 */
export function idempotencyKey(input: KeyInput): string {
  const values = [...input.values]
    .map((c) => [c.id, c.value, c.unit] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const canonical = JSON.stringify(["v1", input.deviceId, input.kind, input.time, input.seq ?? null, values]);
  return createHash("sha256").update(canonical).digest("base64url");
}
