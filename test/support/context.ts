import type { AgentContext } from "../../src/agent/context.js";
import type { HubBuffer } from "../../src/buffer/buffer.js";
import { parseConfig } from "../../src/config/load.js";
import type { Clock } from "../../src/core/clock.js";
import { silentLogger } from "../../src/core/log.js";

/** An agent context around a test buffer (hub in UTC, silent logs). */
export function testContext(buffer: HubBuffer, clock: Clock, dataDir: string): AgentContext {
  return {
    config: parseConfig({ hub: { id: "h", timeZone: "UTC", dataDir } }),
    buffer,
    clock,
    logger: silentLogger(),
    dataDir,
    fetch,
    pokeRoutes: () => {},
  };
}
