import { diskFreeBytes } from "../../agent/status.js";
import { loadConfig } from "../../config/load.js";
import { BufferView } from "../../ops/buffer-view.js";
import { linkStates, runningAgentPid } from "../../ops/hub-state.js";
import { clockSynced } from "../../ops/probes.js";
import { renderStatus, statusReport } from "../../ops/status-report.js";
import { type Command, parse, requireOption } from "../io.js";

export const status: Command = {
  name: "status",
  usage: "pkb-hub status --config FILE [--json]",
  summary:
    "devices (last reading, silent?), patients and links, buffer by state, last deliveries, alerts with fixes, clock",
  async run(args, io) {
    const { values } = parse(args, { config: { type: "string", short: "c" }, json: { type: "boolean" } });
    const config = loadConfig(requireOption(values.config, "--config FILE"));
    const synced = config.clock.mode === "assume-synced" ? true : await clockSynced();
    const view = BufferView.open(config);
    try {
      const report = statusReport({
        config,
        nowMs: Date.now(),
        clockSynced: synced,
        view,
        links: linkStates(config, (k) => view?.kvGet(k)),
        agentPid: runningAgentPid(config.hub.dataDir),
        diskFree: diskFreeBytes,
      });
      if (values.json) io.out(JSON.stringify(report, null, 2));
      else for (const line of renderStatus(report)) io.out(line);
      return 0;
    } finally {
      view?.close();
    }
  },
};
