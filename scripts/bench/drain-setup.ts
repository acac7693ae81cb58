import type { Config } from "../../src/config/schema.js";
import type { Reading } from "../../src/core/reading.js";

/** One route's drain bench: the hub config, the stand-in, and the minimal client for the same requests. */
export interface DrainSetup {
  route: "rest" | "hl7";
  config: Config;
  /** Requests in flight at once, for the agent (its route config) and the minimal client alike. */
  concurrency: number;
  /** Requests the stand-in has received so far. */
  requests(): number;
  /** Prepares the minimal client's requests (outside the timing) from what the agent sent; returns its run. */
  prepareIdeal(readings: Reading[]): Promise<{ run: () => Promise<void>; requests: number }>;
  stop(): Promise<void>;
}

/** The local patient every drain bench delivers for. */
export const BENCH_PATIENT = "p1";
