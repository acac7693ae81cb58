import type { ComponentId, ReadingKind } from "../src/core/codes.js";
import type { MetaValue } from "../src/core/reading.js";
import { type LocalDateTime, localToString, utcWallTime } from "../src/core/time.js";
import type { Ucum } from "../src/core/units.js";
import type { Medical } from "./ieee11073.js";
import type { DecodedDraft, SentRecord } from "./types.js";

/** Builds a draft; a special value (NaN, NRes, ±INF) drops its component and flags the reading. */
export class DraftBuilder {
  private readonly draft: DecodedDraft & {
    flags: string[];
    meta: Record<string, MetaValue>;
    sent: SentRecord;
  };

  constructor(kind: ReadingKind) {
    this.draft = { kind, components: [], flags: [], meta: {}, sent: { values: [] } };
  }

  /**
   * Adds a component in the unit the reading carries it in. `sent` is the value in the device's own
   * unit when the decoder had to scale it (BLE glucose kg/L → mg/dL); by default the value is as sent.
   */
  add(
    id: ComponentId,
    value: Medical | number,
    unit: Ucum,
    sent?: { value: Medical | number; unit: string },
  ): this {
    const raw = sent?.value ?? value;
    const rawUnit = sent?.unit ?? unit;
    if (typeof raw === "number") this.draft.sent.values.push({ id, unit: rawUnit, value: raw });
    else if (raw.ok) this.draft.sent.values.push({ id, unit: rawUnit, value: raw.value });
    else this.draft.sent.values.push({ id, unit: rawUnit, special: raw.special });
    if (typeof value === "number") this.draft.components.push({ id, value, unit });
    else if (value.ok) this.draft.components.push({ id, value: value.value, unit });
    else this.draft.flags.push(`special-value:${id}:${value.special}`);
    return this;
  }

  /** The device's time field exactly as sent (even unknown or ignored), and a glucose time offset. */
  sentTime(t: LocalDateTime, offsetMinutes?: number): this {
    this.draft.sent.deviceTime = localToString(t);
    if (offsetMinutes !== undefined) this.draft.sent.timeOffsetMinutes = offsetMinutes;
    return this;
  }

  /** A text protocol's record as received. */
  sentRecord(record: string): this {
    this.draft.sent.record = record;
    return this;
  }

  flag(flag: string): this {
    this.draft.flags.push(flag);
    return this;
  }

  meta(key: string, value: MetaValue): this {
    this.draft.meta[key] = value;
    return this;
  }

  time(t: LocalDateTime | undefined): this {
    if (t) this.draft.deviceTime = t;
    return this;
  }

  seq(n: number): this {
    this.draft.seq = n;
    return this;
  }

  userSlot(n: number): this {
    this.draft.userSlot = n;
    return this;
  }

  /** No components left (every value special) means no reading at all. */
  build(): DecodedDraft[] {
    return this.draft.components.length === 0 ? [] : [this.draft];
  }
}

/** Adds minutes to a device-local wall time (the glucose time offset), in the device's own calendar. */
export function addMinutes(t: LocalDateTime, minutes: number): LocalDateTime {
  return utcWallTime(Date.UTC(t.year, t.month - 1, t.day, t.hours, t.minutes + minutes, t.seconds));
}
