import type { Agent } from "../../src/agent/agent.js";
import type { ConfigInput } from "../../src/config/schema.js";

/** What the demo needs from one route: a stand-in to deliver to, config for it, and a view of what arrived. */
export interface DemoRoute {
  readonly name: "rest" | "hl7" | "buffer";
  /** Start the route's PKB stand-in and fill in `config.patients` (one demo patient, key "demo-patient") and `config.routes`. */
  configure(config: ConfigInput, dataDir: string, options: { captureDir?: string }): Promise<void>;
  /** After the agent started (e.g. link the demo patient through OAuth). */
  afterStart?(agent: Agent): Promise<void>;
  /** How many readings (measurements) the stand-in's record for the demo patient holds. */
  received(): Promise<number>;
  /** A few lines describing what arrived in the stand-in (it is fake data: values may be shown). */
  describe(): Promise<string[]>;
  stop(): Promise<void>;
}
