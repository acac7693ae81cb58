import { hexBytes } from "../../drivers/fixtures.js";
import { driverById } from "../../drivers/index.js";
import type { DecodedDraft } from "../../drivers/types.js";
import type { ReadingDraft } from "../../src/core/reading.js";
import { localToString } from "../../src/core/time.js";

/** Decodes a commented hex vector (spaces and `|` allowed) with a driver. */
export function decodeHex(driverId: string, hex: string, characteristic?: string): DecodedDraft[] {
  return driverById(driverId).decode(hexBytes(hex), characteristic);
}

/** The one draft a frame must yield, in a shape that compares exactly (no `undefined` noise). */
export function only(drafts: ReadingDraft[]) {
  if (drafts.length !== 1) throw new Error(`expected one draft, got ${drafts.length}`);
  const d = drafts[0] as ReadingDraft;
  return {
    kind: d.kind,
    values: Object.fromEntries(d.components.map((c) => [c.id, c.value])),
    units: Object.fromEntries(d.components.map((c) => [c.id, c.unit])),
    flags: d.flags ?? [],
    time: d.deviceTime ? localToString(d.deviceTime) : undefined,
    seq: d.seq,
    userSlot: d.userSlot,
    meta: d.meta ?? {},
  };
}

/** What `only` gives for a plain SpO2 + pulse rate reading with nothing else set. */
export function spo2Only(spo2: number, pulseRate: number, meta: Record<string, unknown> = {}) {
  return {
    kind: "spo2",
    values: { spo2, "pulse-rate": pulseRate },
    units: { spo2: "%", "pulse-rate": "/min" },
    flags: [],
    time: undefined,
    seq: undefined,
    userSlot: undefined,
    meta,
  };
}

/** The coded error a frame must be refused with. */
export function refusal(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
  return "accepted";
}
