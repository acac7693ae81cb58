import { offsetMinutes } from "../../core/time.js";

const pad = (n: number, w = 2) => String(Math.abs(n)).padStart(w, "0");

/** HL7 DTM `YYYYMMDDHHMMSS` in the hub's zone; with `+ZZZZ` when `withOffset` (PKB discourages it in MSH-7). */
export function hl7Time(epochMs: number, timeZone: string, withOffset = false): string {
  const off = offsetMinutes(epochMs, timeZone);
  const d = new Date(epochMs + off * 60_000);
  const base = `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}`;
  if (!withOffset) return base;
  return `${base}${off < 0 ? "-" : "+"}${pad(Math.trunc(Math.abs(off) / 60))}${pad(Math.abs(off) % 60)}`;
}

/** An ISO 8601 instant with offset (a Reading's measuredAt) as HL7 DTM with its own offset. */
export function hl7TimeFromIso(iso: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-]\d{2}:\d{2})$/.exec(iso);
  if (!m) return hl7Time(Date.parse(iso), "UTC", true);
  const [, y, mo, d, h, mi, s, zone] = m;
  const offset = zone === "Z" ? "+0000" : (zone as string).replace(":", "");
  return `${y}${mo}${d}${h}${mi}${s}${offset}`;
}

/** `YYYY-MM-DD` → `YYYYMMDD`. */
export function hl7Date(isoDate: string): string {
  return isoDate.replace(/-/g, "");
}
