/**
 * Device clocks send local wall time with no zone. Converting it needs the hub's configured IANA
 * time zone; in a DST gap the local time does not exist, in an overlap it exists twice. Both are
 * reported, never guessed silently.
 */
export interface LocalDateTime {
  year: number;
  month: number; // 1-12
  day: number;
  hours: number;
  minutes: number;
  seconds: number;
}

export interface ZonedResult {
  /** Epoch ms of the chosen instant (the earlier one when ambiguous; shifted forward in a gap). */
  epochMs: number;
  /** ISO 8601 with the zone's offset at that instant. */
  iso: string;
  ambiguous: boolean;
  /** The local time does not exist (DST gap). */
  nonexistent: boolean;
  /** Every instant this wall time names, earliest first (two in a DST overlap, else one). */
  candidates: number[];
}

const fmtCache = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = fmtCache.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    fmtCache.set(timeZone, f);
  }
  return f;
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

const QUARTER_HOUR_MS = 900_000;
const offsetCache = new Map<string, number>();

/**
 * The zone's UTC offset in minutes at an instant (e.g. +60 for Europe/London in summer). Zone
 * transitions fall on UTC quarter hours, so the offset is constant within one and is cached per
 * quarter hour: Intl formatting is the most expensive step of finishing a reading otherwise.
 */
export function offsetMinutes(epochMs: number, timeZone: string): number {
  const cacheKey = `${timeZone}|${Math.floor(epochMs / QUARTER_HOUR_MS)}`;
  const cached = offsetCache.get(cacheKey);
  if (cached !== undefined) return cached;
  const offset = computeOffsetMinutes(Math.floor(epochMs / QUARTER_HOUR_MS) * QUARTER_HOUR_MS, timeZone);
  // Stryker disable next-line EqualityOperator: the bound only limits memory; any answer is recomputed alike
  if (offsetCache.size >= 10_000) offsetCache.clear();
  offsetCache.set(cacheKey, offset);
  return offset;
}

/** `epochMs` is on a UTC quarter hour (offsetMinutes), so it has no sub-second part to drop. */
function computeOffsetMinutes(epochMs: number, timeZone: string): number {
  const parts = formatter(timeZone).formatToParts(new Date(epochMs));
  // Stryker disable next-line OptionalChaining: formatToParts always yields every part asked for
  const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value);
  const asUtc = Date.UTC(
    get("year"),
    get("month") - 1,
    get("day"),
    get("hour"),
    get("minute"),
    get("second"),
  );
  return Math.round((asUtc - epochMs) / 60000);
}

function pad(n: number, width = 2): string {
  return String(Math.abs(n)).padStart(width, "0");
}

/** ISO 8601 with an explicit offset, e.g. 2026-03-29T01:30:00.000+01:00. */
export function isoWithOffset(epochMs: number, offsetMin: number): string {
  const local = new Date(epochMs + offsetMin * 60000);
  const sign = offsetMin < 0 ? "-" : "+";
  return (
    `${pad(local.getUTCFullYear(), 4)}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}` +
    `T${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}` +
    `.${pad(local.getUTCMilliseconds(), 3)}${sign}${pad(Math.trunc(Math.abs(offsetMin) / 60))}:${pad(Math.abs(offsetMin) % 60)}`
  );
}

export function isoInZone(epochMs: number, timeZone: string): string {
  return isoWithOffset(epochMs, offsetMinutes(epochMs, timeZone));
}

export function isValidLocal(t: LocalDateTime): boolean {
  if (![t.year, t.month, t.day, t.hours, t.minutes, t.seconds].every(Number.isInteger)) return false;
  if (t.month < 1 || t.month > 12 || t.day < 1 || t.hours > 23 || t.minutes > 59 || t.seconds > 59)
    return false;
  if (t.hours < 0 || t.minutes < 0 || t.seconds < 0) return false;
  const d = new Date(Date.UTC(t.year, t.month - 1, t.day));
  return d.getUTCDate() === t.day && d.getUTCMonth() === t.month - 1;
}

/** Resolve a device-local wall time in `timeZone` to an instant. Caller validates fields first. */
export function zonedToInstant(t: LocalDateTime, timeZone: string): ZonedResult {
  const wall = Date.UTC(t.year, t.month - 1, t.day, t.hours, t.minutes, t.seconds);
  const offsets = new Set([
    offsetMinutes(wall - 86400000, timeZone),
    offsetMinutes(wall + 86400000, timeZone),
  ]);
  offsets.add(offsetMinutes(wall, timeZone));
  const candidates = [...offsets]
    .map((off) => wall - off * 60000)
    .filter((epoch) => epoch + offsetMinutes(epoch, timeZone) * 60000 === wall)
    // Stryker disable next-line ArrowFunction,ArithmeticOperator: already ascending in every real zone (the offset before a fall-back is the larger); kept for a zone with two changes in two days
    .sort((a, b) => a - b);
  const first = candidates[0];
  if (first !== undefined) {
    return {
      epochMs: first,
      iso: isoInZone(first, timeZone),
      ambiguous: candidates.length > 1,
      nonexistent: false,
      candidates,
    };
  }
  // DST gap: the clock jumped over this wall time; use the offset from before the jump.
  const before = offsetMinutes(wall - 86400000, timeZone);
  const epochMs = wall - before * 60000;
  return { epochMs, iso: isoInZone(epochMs, timeZone), ambiguous: false, nonexistent: true, candidates: [] };
}

/** A device clock may run this far ahead of the hub's before its times are treated as wrong. */
export const DEVICE_CLOCK_TOLERANCE_MS = 10 * 60_000;
/** A record received within this long after its instant counts as sent live (at measurement). */
export const LIVE_WINDOW_MS = 5 * 60_000;

export interface OverlapChoice {
  epochMs: number;
  /**
   * `certain`: only one candidate is not in the future at receipt, so it is the one (the later
   * one has not happened yet). `live`: both have passed, but only one is within the live window of
   * receipt: the most likely one, still uncertain (a stored record an hour old looks the same).
   * `unknown`: the hub cannot tell (received long after both, or on an unsynchronised hub).
   */
  basis: "certain" | "live" | "unknown";
}

/**
 * Chooses between the instants a wall time names in a DST overlap, from when the hub received the
 * record. `deviceNowMs` is the receipt instant on the device's clock (hub receipt plus the measured
 * device clock skew); a hub whose clock is not synchronised cannot choose (basis `unknown`, the
 * earliest: see finishReading). The candidates of one
 * overlap are an hour apart (half an hour in a few zones), wider than the tolerance plus the live
 * window, so at most one candidate can be live.
 */
export function chooseOverlapInstant(candidates: readonly number[], deviceNowMs: number): OverlapChoice {
  const earliest = candidates[0];
  if (earliest === undefined) throw new RangeError("no candidate instants");
  // Candidates are ascending, so those that have happened are a prefix: one alone is the earliest.
  const happened = candidates.filter((e) => e <= deviceNowMs + DEVICE_CLOCK_TOLERANCE_MS);
  if (happened.length === 1) return { epochMs: earliest, basis: "certain" };
  const live = happened.filter((e) => deviceNowMs - e <= LIVE_WINDOW_MS);
  if (live.length === 1) return { epochMs: live[0] ?? earliest, basis: "live" };
  return { epochMs: earliest, basis: "unknown" };
}

/** The wall time that the UTC calendar shows at `epochMs` (also: calendar arithmetic on wall times). */
export function utcWallTime(epochMs: number): LocalDateTime {
  const d = new Date(epochMs);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hours: d.getUTCHours(),
    minutes: d.getUTCMinutes(),
    seconds: d.getUTCSeconds(),
  };
}

/** The raw wall time as the device sent it, zone-free, for idempotency keys. */
export function localToString(t: LocalDateTime): string {
  return `${pad(t.year, 4)}-${pad(t.month)}-${pad(t.day)}T${pad(t.hours)}:${pad(t.minutes)}:${pad(t.seconds)}`;
}
