import { HubError } from "../core/errors.js";

const TIME_SOURCES: ReadonlySet<unknown> = new Set(["device", "hub", "hub-unsynced"]);

const text = (v: unknown): boolean => typeof v === "string" && v.trim() !== "";
const instant = (v: unknown): boolean => typeof v === "string" && !Number.isNaN(Date.parse(v));
const record = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function componentProblem(c: unknown): string | undefined {
  if (!record(c)) return "is not an object";
  if (!text(c.id)) return "id";
  if (typeof c.value !== "number" || !Number.isFinite(c.value)) return "value (a finite number)";
  if (!text(c.unit)) return "unit";
  if (!text(c.code)) return "code";
  if (typeof c.snomed !== "string") return "snomed";
  if (typeof c.mdc !== "number") return "mdc";
  return undefined;
}

/** The first field of a reading the buffer or a route could not use, or undefined when it is whole. */
export function readingProblem(r: unknown): string | undefined {
  if (!record(r)) return "the reading itself (not an object)";
  for (const field of ["key", "deviceId", "driver", "patient", "kind"] as const) {
    if (!text(r[field])) return field;
  }
  if (!Array.isArray(r.components) || r.components.length === 0) return "components";
  for (const [i, c] of r.components.entries()) {
    const problem = componentProblem(c);
    if (problem !== undefined) return `components[${i}] ${problem}`;
  }
  if (!instant(r.measuredAt)) return "measuredAt";
  if (!instant(r.receivedAt)) return "receivedAt";
  if (!TIME_SOURCES.has(r.timeSource)) return "timeSource";
  if (!Array.isArray(r.flags) || !r.flags.every((f) => typeof f === "string")) return "flags";
  if (!record(r.meta)) return "meta";
  if (r.quarantine !== undefined && !text(r.quarantine)) return "quarantine";
  return undefined;
}

/** Why one reading of a call is refused: the error names its index and the field, never a value. */
export function invalidReading(index: number, total: number, field: string, retryable = false): HubError {
  return new HubError("READING_INVALID", `reading ${index} of ${total}: missing or invalid ${field}`, {
    details: { index, field },
    retryable,
  });
}

/**
 * Refuses, before any transaction, a reading the buffer or a route could not use, naming the field
 * (never a value: values are PHI). Group commit shares one transaction between callers, so a reading
 * that failed inside it would take the other callers' readings with it.
 */
export function validateReadings(readings: readonly unknown[]): void {
  if (!Array.isArray(readings)) throw new HubError("READING_INVALID", "readings must be an array");
  for (const [i, r] of readings.entries()) {
    const problem = readingProblem(r);
    if (problem !== undefined) throw invalidReading(i, readings.length, problem);
  }
}
