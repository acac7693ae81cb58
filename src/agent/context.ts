import type { HubBuffer } from "../buffer/buffer.js";
import type { Config } from "../config/schema.js";
import type { Clock } from "../core/clock.js";
import type { Logger } from "../core/log.js";

/** Everything a running part of the agent may use; passed in, never imported as a singleton. */
export interface AgentContext {
  config: Config;
  /** Path of the config file (for `devices pair` and reload); undefined when built in memory. */
  configFile?: string;
  buffer: HubBuffer;
  clock: Clock;
  logger: Logger;
  /** Secrets and tokens live here (0700), beside the buffer. */
  dataDir: string;
  fetch: typeof fetch;
  /** Tell the forwarders new work is waiting. */
  pokeRoutes: () => void;
}

/** Every long-running part has start/stop; nothing leaks timers or sockets after stop. */
export interface Component {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}
