import type { HubBuffer } from "../../src/buffer/buffer.js";

/** What the demo watches in the buffer. Documents (the HL7 demo's MDM) are not readings. */
export interface DemoCounts {
  /** Readings stored in the outbox (any state). */
  readings: number;
  /** Records the buffer recognised as already stored. */
  duplicates: number;
  /** Outbox rows not yet settled (readings and documents). */
  unsent: number;
}

export function demoCounts(buffer: HubBuffer): DemoCounts {
  const stats = buffer.stats();
  const readings = buffer.db
    .prepare("SELECT count(*) FROM outbox WHERE reading_id IS NOT NULL")
    .pluck()
    .get() as number;
  return { readings, duplicates: stats.duplicates, unsent: stats.unsent };
}

/**
 * The demo may stop once the meter's whole download is accounted for — every record stored as a
 * new reading or recognised as a duplicate of one stored in an earlier run — and nothing waits to
 * be sent. Counting outbox rows instead would count the HL7 demo's document as a reading and stop
 * one reading early whenever the document was delivered before the meter's last record arrived.
 */
export function demoSettled(
  produced: number,
  before: DemoCounts,
  now: DemoCounts,
  deliver: boolean,
): boolean {
  const accounted = now.readings - before.readings + (now.duplicates - before.duplicates);
  return accounted >= produced && (!deliver || now.unsent === 0);
}
