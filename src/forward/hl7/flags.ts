import type { ComponentId } from "../../core/codes.js";
import type { Flag, Reading } from "../../core/reading.js";
import { segment } from "./encoding.js";

/**
 * OBX-8 (HL7 v2.4 table 0078), for one component of a reading:
 * - `>` / `<` when the device showed HI / LO (its flag `above-/below-measuring-range:<id>`): the value
 *   is the device's limit and the true value lies beyond it ("above/below absolute high/low
 *   instrument scale"): a fact the device reported, not a judgement.
 * - nothing otherwise — also for a value outside the range the hub expects of a home measurement
 *   (`out-of-range:<id>`). Table 0078 `A` ("abnormal") or `H`/`L` would claim a clinical judgement
 *   about this patient that the hub cannot make (no reference range, no clinician); impossible values
 *   never get here (quarantined in the core). The flag still travels: an NTE after the OBX says the
 *   value is outside the expected range and was kept as measured (`flagNotes`).
 */
export function abnormalFlag(r: Pick<Reading, "flags">, id: ComponentId): string | undefined {
  if (r.flags.includes(`above-measuring-range:${id}`)) return ">";
  if (r.flags.includes(`below-measuring-range:${id}`)) return "<";
  return undefined;
}

/** What a flag means, for the person reading the record (the flag itself stays first, for machines). */
const MEANINGS: Readonly<Record<string, string>> = {
  "out-of-range": "outside the range expected of a home measurement of this kind; kept as measured",
  "above-measuring-range": "the device showed HI: the value is its upper limit, the true value is higher",
  "below-measuring-range": "the device showed LO: the value is its lower limit, the true value is lower",
  "ambiguous-local-time":
    "the device's local time fell in the hour repeated by a clock change: the time may be an hour out, and this reading may be a second copy of another",
  "nonexistent-local-time":
    "the device's local time fell in the hour skipped by a clock change: read with the offset before the change",
  "device-time-invalid": "the device's clock was not set: the time is when the hub received the reading",
  "device-time-future": "the device's clock was ahead: the time is when the hub received the reading",
  "device-clock-skew": "the device's clock differed from the hub's by more than 5 minutes",
};

/** The reading's flags about one component: its own (`<flag>:<id>`) and the reading's (no `:`). */
export function flagsFor(r: Pick<Reading, "flags">, id: ComponentId): Flag[] {
  return r.flags.filter((f) => {
    const at = f.indexOf(":");
    return at < 0 || f.slice(at + 1) === id;
  });
}

/**
 * NTE segments after a component's OBX, one per flag that concerns it (ORU_R01 allows notes after each
 * OBX): NTE-2 `L` (the filler, the hub, is the source), NTE-3 the flag and what it means, NTE-4 `RE`
 * (remark, table 0364). So every flag the REST route carries travels over HL7 too, the time flags
 * (`ambiguous-local-time`…) included. PKB documents that it does not store comments for
 * measurements: OBX-8 is what reaches the record for the value flags; the notes are at least in the
 * message PKB received (to confirm in a sandbox: `src/core/key.md`, hazard log H3/H5).
 */
export function flagNotes(r: Pick<Reading, "flags">, id: ComponentId): string[] {
  return flagsFor(r, id).map((flag, i) => {
    const meaning = MEANINGS[flag.split(":")[0] as string];
    return segment("NTE", [
      String(i + 1),
      "L",
      meaning === undefined ? flag : `${flag}: ${meaning}`,
      ["RE", "Remark", "HL70364"],
    ]);
  });
}
