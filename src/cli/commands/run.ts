import { Agent } from "../../agent/agent.js";
import { configWarnings, loadConfig } from "../../config/load.js";
import { createLogger } from "../../core/log.js";
import { type Command, parse, requireOption } from "../io.js";

export const run: Command = {
  name: "run",
  usage: "pkb-hub run --config FILE",
  summary: "run the agent: read devices, buffer readings, deliver them to PKB",
  async run(args, io) {
    const { values } = parse(args, { config: { type: "string", short: "c" } });
    const file = requireOption(values.config, "--config FILE");
    const config = loadConfig(file);
    process.umask(0o077);
    const logger = createLogger({ level: config.log.level });
    for (const w of configWarnings(file, config)) logger.warn(w);
    // Signals are caught from the start: a stop requested while starting is honoured once started.
    // The interval holds the process open even when nothing configured does.
    const keepAlive = setInterval(() => {}, 2 ** 30);
    const stopped = new Promise<void>((resolve) => {
      const stop = () => {
        clearInterval(keepAlive);
        resolve();
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
    let agent: Agent;
    try {
      agent = new Agent({ config, configFile: file, logger });
      await agent.start();
    } catch (err) {
      clearInterval(keepAlive);
      throw err;
    }
    io.out(`pkb-hub ${config.hub.id} running (data in ${config.hub.dataDir}); Ctrl-C to stop`);
    await stopped;
    await agent.stop();
    return 0;
  },
};
