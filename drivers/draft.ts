import type { ComponentId, ReadingKind } from "../src/core/codes.js";
import type { MetaValue, ReadingDraft } from "../src/core/reading.js";
import type { LocalDateTime } from "../src/core/time.js";
import type { Ucum } from "../src/core/units.js";
import type { Medical } from "./ieee11073.js";

/** Builds a draft; a special value (NaN, NRes, ±INF) drops its component and flags the reading. */
export class DraftBuilder {
  private readonly draft: ReadingDraft & { flags: string[]; meta: Record<string, MetaValue> };

  constructor(kind: ReadingKind) {
    this.draft = { kind, components: [], flags: [], meta: {} };
  }

  add(id: ComponentId, value: Medical | number, unit: Ucum): this {
    if (typeof value === "number") this.draft.components.push({ id, value, unit });
    else if (value.ok) this.draft.components.push({ id, value: value.value, unit });
    else this.draft.flags.push(`special-value:${id}:${value.special}`);
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
  build(): ReadingDraft[] {
    return this.draft.components.length === 0 ? [] : [this.draft];
  }
}

/** Adds minutes to a device-local wall time (the glucose time offset), in the device's own calendar. */
export function addMinutes(t: LocalDateTime, minutes: number): LocalDateTime {
  const d = new Date(Date.UTC(t.year, t.month - 1, t.day, t.hours, t.minutes + minutes, t.seconds));
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hours: d.getUTCHours(),
    minutes: d.getUTCMinutes(),
    seconds: d.getUTCSeconds(),
  };
}
