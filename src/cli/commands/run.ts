import { Agent } from "../../agent/agent.js";
import { SystemdNotify } from "../../agent/notify.js";
import { SignalInbox, serve } from "../../agent/service.js";
import { loadConfig } from "../../config/load.js";
import { isHubError } from "../../core/errors.js";
import { createLogger } from "../../core/log.js";
import { configWarnings } from "../../ops/config-warnings.js";
import { assertFilesUsable } from "../../ops/preflight.js";
import { prettyDestination } from "../../ops/pretty-log.js";
import { type Command, parse, requireOption } from "../io.js";

export const run: Command = {
  name: "run",
  usage: "pkb-hub run --config FILE [--pretty]",
  summary: "run the agent: read devices, buffer readings, deliver them to PKB (SIGHUP reloads the config)",
  async run(args, io) {
    const { values } = parse(args, { config: { type: "string", short: "c" }, pretty: { type: "boolean" } });
    const file = requireOption(values.config, "--config FILE");
    const config = loadConfig(file);
    assertFilesUsable(config);
    process.umask(0o077);
    // --pretty: lines for a technician's terminal instead of JSON for the journal.
    const logger = createLogger({
      level: config.log.level,
      ...(values.pretty
        ? {
            destination: prettyDestination(
              (t) => process.stderr.write(t),
              process.stderr.isTTY === true && !io.env.NO_COLOR,
            ),
          }
        : {}),
    });
    for (const w of configWarnings(file, config)) logger.warn(w);
    // Signals are caught from the start: a stop or reload asked for while starting is handled
    // once started. The interval holds the process open even when nothing configured does.
    const signals = new SignalInbox();
    const keepAlive = setInterval(() => {}, 2 ** 30);
    const notify = await SystemdNotify.fromEnv(process.env, logger);
    let agent: Agent;
    try {
      notify.status("starting");
      agent = new Agent({ config, configFile: file, logger });
      await agent.start();
    } catch (err) {
      notify.status(`start failed: ${isHubError(err) ? err.code : "INTERNAL"}`);
      notify.close();
      signals.dispose();
      clearInterval(keepAlive);
      throw err;
    }
    io.out(`pkb-hub ${config.hub.id} running (data in ${config.hub.dataDir}); Ctrl-C to stop`);
    try {
      await serve({ agent, notify, signals, logger });
    } finally {
      notify.close();
      signals.dispose();
      clearInterval(keepAlive);
    }
    return 0;
  },
};
