import type { ComponentId } from "../src/core/codes.js";
import type { ReadingDraft } from "../src/core/reading.js";

export interface CondensePolicy {
  /** One spot reading per window of this length. */
  windowMs: number;
  /** A window with fewer usable samples yields nothing (a brief touch of the sensor is not a reading). */
  minSamples: number;
}

export const DEFAULT_CONDENSE: CondensePolicy = { windowMs: 60_000, minSamples: 10 };

/** The policy a device's options ask for (`condenseWindowSec`, `condenseMinSamples`), else the default. */
export function condensePolicy(options: Readonly<Record<string, string | number | boolean>>): CondensePolicy {
  return {
    windowMs: Number(options.condenseWindowSec ?? DEFAULT_CONDENSE.windowMs / 1000) * 1000,
    minSamples: Number(options.condenseMinSamples ?? DEFAULT_CONDENSE.minSamples),
  };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/**
 * Condenses a continuous stream (1-3 samples a second) into one spot reading per window: the
 * median of each component. The raw stream never reaches a clinical record. Pure: time is passed in.
 */
export class Condenser {
  private samples: ReadingDraft[] = [];
  private windowStart: number | undefined;

  private readonly windowMs: number;
  /** At least one: an empty window is never a reading. */
  private readonly minSamples: number;

  constructor(policy: CondensePolicy = DEFAULT_CONDENSE) {
    this.windowMs = policy.windowMs;
    this.minSamples = Math.max(1, policy.minSamples);
  }

  /** Adds a sample taken at `atMs`; returns a condensed draft (and the time it stands for) when a window closes. */
  push(sample: ReadingDraft, atMs: number): { draft: ReadingDraft; atMs: number } | undefined {
    const start = this.windowStart ?? atMs;
    const out = atMs - start >= this.windowMs ? this.flush(atMs) : undefined;
    this.windowStart ??= atMs;
    this.samples.push(sample);
    return out;
  }

  /** Closes the current window (e.g. at disconnect). */
  flush(atMs: number): { draft: ReadingDraft; atMs: number } | undefined {
    const samples = this.samples;
    const start = this.windowStart;
    this.samples = [];
    this.windowStart = undefined;
    if (samples.length < this.minSamples) return undefined;
    // A window with samples has a start and a first sample.
    const first = samples[0] as ReadingDraft;
    const byId = new Map<
      ComponentId,
      { values: number[]; unit: ReadingDraft["components"][number]["unit"] }
    >();
    for (const s of samples) {
      for (const c of s.components) {
        const entry = byId.get(c.id) ?? { values: [], unit: c.unit };
        entry.values.push(c.value);
        byId.set(c.id, entry);
      }
    }
    const flags = [...new Set(samples.flatMap((s) => s.flags ?? []))];
    const draft: ReadingDraft = {
      kind: first.kind,
      components: [...byId].map(([id, e]) => ({
        id,
        value: Math.round(median(e.values) * 10) / 10,
        unit: e.unit,
      })),
      flags: [...flags, "condensed"],
      meta: { samples: samples.length, windowSec: Math.round((atMs - (start as number)) / 1000) },
    };
    return { draft, atMs: Math.round(((start as number) + atMs) / 2) };
  }
}
