import { HubError } from "../core/errors.js";
import type { Reading } from "../core/reading.js";
import { invalidReading, readingProblem } from "./validate.js";

/** A reading of an ingest() call that was not stored, by its index in the call. */
export interface RefusedReading {
  index: number;
  /**
   * READING_INVALID. `retryable` false: the reading itself is unusable and always will be (a device
   * sending it again sends the same); true: it may be stored later (its patient's route is missing, or
   * the database refused it inside the transaction for a reason validation did not foresee).
   */
  error: HubError;
}

/** The readings of one call that may enter the transaction (with their stored text), and those refused. */
export interface Admitted {
  readings: Reading[];
  bodies: string[];
  /** Index of each admitted reading in the call. */
  indices: number[];
  refused: RefusedReading[];
}

/**
 * Checks each reading of an ingest() call on its own, before any transaction: its fields, that it can
 * be serialised, that its patient has a route. A bad reading is refused alone; the others go on.
 */
export function admitReadings(readings: readonly Reading[], routeOf: (patient: string) => unknown): Admitted {
  if (!Array.isArray(readings)) throw new HubError("READING_INVALID", "readings must be an array");
  const out: Admitted = { readings: [], bodies: [], indices: [], refused: [] };
  const n = readings.length;
  readings.forEach((r, index) => {
    const problem = readingProblem(r);
    if (problem !== undefined) {
      out.refused.push({ index, error: invalidReading(index, n, problem) });
      return;
    }
    let body: string;
    try {
      body = JSON.stringify(r);
    } catch {
      out.refused.push({ index, error: invalidReading(index, n, "body (cannot be serialised)") });
      return;
    }
    if (routeOf(r.patient) === undefined) {
      // A configuration matter, not the reading's: a reload may give the patient a route again.
      out.refused.push({ index, error: invalidReading(index, n, "patient (no configured route)", true) });
      return;
    }
    out.readings.push(r);
    out.bodies.push(body);
    out.indices.push(index);
  });
  return out;
}

/**
 * The error for a call none of whose readings was stored: the refusal itself when there was one
 * reading, otherwise a summary naming the first; retryable when any refusal is.
 */
export function everyReadingRefused(refused: readonly RefusedReading[], total: number): HubError {
  const first = refused[0]?.error ?? new HubError("READING_INVALID", "no readings");
  if (refused.length === 1 && total === 1) return first;
  return new HubError(
    "READING_INVALID",
    `${refused.length} of ${total} readings refused; the first: ${first.message}`,
    {
      cause: first,
      details: { ...first.details, refused: refused.length },
      retryable: refused.some((r) => r.error.retryable),
    },
  );
}
