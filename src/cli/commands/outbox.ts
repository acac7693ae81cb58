import { openBufferAsTool } from "../../agent/agent.js";
import type { AttentionState, DeadLetter } from "../../buffer/outbox.js";
import { loadConfig } from "../../config/load.js";
import { SystemClock } from "../../core/clock.js";
import { HubError } from "../../core/errors.js";
import { silentLogger } from "../../core/log.js";
import { actAsService } from "../../ops/privileges.js";
import { serviceAccount } from "../../ops/users.js";
import { type Command, parse, requireOption } from "../io.js";

function withBuffer<T>(configFile: string, fn: (buffer: ReturnType<typeof openBufferAsTool>) => T): T {
  const config = loadConfig(configFile);
  // Run by root, the buffer's files (and any it creates) stay the service account's.
  actAsService(config.hub.dataDir, serviceAccount(config.hub));
  const buffer = openBufferAsTool(config, new SystemClock({ mode: "assume-synced" }), silentLogger());
  try {
    return fn(buffer);
  } finally {
    buffer.close();
  }
}

function age(sec: number | null): string {
  if (sec === null) return "none";
  if (sec < 120) return `${sec}s`;
  if (sec < 7200) return `${Math.round(sec / 60)}m`;
  return `${(sec / 3600).toFixed(1)}h`;
}

function rowLine(d: DeadLetter | Omit<DeadLetter, "reason">): string {
  const line = `#${d.id} route=${d.route} patient=${d.patient} attempts=${d.attempts}`;
  return "reason" in d ? `${line} reason: ${d.reason}` : line;
}

function withoutReason(d: DeadLetter): Omit<DeadLetter, "reason"> {
  const { reason: _hidden, ...rest } = d;
  return rest;
}

function positiveId(value: string | undefined): number {
  const id = Number(requireOption(value, "--id N"));
  if (!Number.isInteger(id) || id <= 0) throw new HubError("USAGE", "--id must be a positive integer");
  return id;
}

export const outboxList: Command = {
  name: "outbox list",
  usage: "pkb-hub outbox list --config FILE [--json] [--show-reasons]",
  summary: "counts by state, oldest unsent age, alerts, and rows waiting for a person (reasons on request)",
  async run(args, io) {
    const { values } = parse(args, {
      config: { type: "string", short: "c" },
      json: { type: "boolean" },
      "show-reasons": { type: "boolean" },
    });
    // Reasons may quote PKB's answer (names, NHS numbers, values): they stay in the buffer and are
    // shown only when asked for, to the person at the hub's console.
    const show = values["show-reasons"] === true;
    const file = requireOption(values.config, "--config FILE");
    const rows = (b: ReturnType<typeof openBufferAsTool>, state: AttentionState) =>
      b.outbox.rowsInState(state, 100).map((d) => (show ? d : withoutReason(d)));
    const { stats, dead, ambiguous, quarantined } = withBuffer(file, (b) => ({
      stats: b.stats(),
      dead: rows(b, "dead"),
      ambiguous: rows(b, "ambiguous"),
      quarantined: rows(b, "quarantined"),
    }));
    if (values.json) {
      io.out(
        JSON.stringify(
          { ...stats, deadLetterRows: dead, ambiguousRows: ambiguous, quarantinedRows: quarantined },
          null,
          2,
        ),
      );
      return 0;
    }
    const s = stats.byState;
    io.out(
      `held=${s.held} pending=${s.pending} leased=${s.leased} ambiguous=${s.ambiguous} quarantined=${s.quarantined} delivered=${s.delivered} dead=${s.dead}`,
    );
    for (const [route, states] of Object.entries(stats.byRoute)) {
      io.out(
        `  route ${route}: ${Object.entries(states)
          .map(([k, v]) => `${k}=${v}`)
          .join(" ")}`,
      );
    }
    io.out(`oldest unsent: ${age(stats.oldestUnsentAgeSec)}`);
    io.out(
      `duplicates ignored: ${stats.duplicates}  refused: ${stats.refused}  ambiguous deliveries: ${stats.ambiguousDeliveries}`,
    );
    io.out(
      `buffer: ${(stats.usedBytes / 1048576).toFixed(1)} MiB of ${(stats.maxBytes / 1048576).toFixed(0)} MiB`,
    );
    for (const a of stats.alerts) io.out(`ALERT ${a.code}: ${a.message}`);
    if (ambiguous.length > 0) {
      io.out(`ambiguous: sent, outcome unknown (${stats.ambiguous}); check PKB, then 'outbox resolve':`);
      for (const d of ambiguous) io.out(`  ${rowLine(d)}`);
    }
    if (quarantined.length > 0) {
      io.out(`quarantined: impossible values, never sent (${stats.quarantined}):`);
      for (const d of quarantined) io.out(`  ${rowLine(d)}`);
    }
    if (dead.length > 0) {
      io.out(`dead letters (${stats.deadLetters}):`);
      for (const d of dead) io.out(`  ${rowLine(d)}`);
    }
    if (!show && ambiguous.length + quarantined.length + dead.length > 0)
      io.out("reasons hidden: they may quote PKB's answer (PHI); add --show-reasons to see them");
    return 0;
  },
};

export const outboxRetry: Command = {
  name: "outbox retry",
  usage: "pkb-hub outbox retry --config FILE (--id N | --route R | --all)",
  summary: "re-queue dead letters after investigation",
  async run(args, io) {
    const { values } = parse(args, {
      config: { type: "string", short: "c" },
      id: { type: "string" },
      route: { type: "string" },
      all: { type: "boolean" },
    });
    const file = requireOption(values.config, "--config FILE");
    const chosen = [values.id !== undefined, values.route !== undefined, values.all === true].filter(
      Boolean,
    ).length;
    if (chosen !== 1) throw new HubError("USAGE", "choose exactly one of --id N, --route R or --all");
    const id = values.id === undefined ? undefined : positiveId(values.id);
    const n = withBuffer(file, (b) =>
      b.outbox.retryDead({
        ...(id !== undefined ? { id } : {}),
        ...(values.route ? { route: values.route } : {}),
      }),
    );
    io.out(`re-queued ${n} dead letter(s)`);
    return 0;
  },
};

export const outboxResolve: Command = {
  name: "outbox resolve",
  usage: "pkb-hub outbox resolve --config FILE --id N --as delivered|resend",
  summary: "settle an ambiguous delivery after checking the record in PKB",
  async run(args, io) {
    const { values } = parse(args, {
      config: { type: "string", short: "c" },
      id: { type: "string" },
      as: { type: "string" },
    });
    const file = requireOption(values.config, "--config FILE");
    const id = positiveId(values.id);
    const as = requireOption(values.as, "--as delivered|resend");
    if (as !== "delivered" && as !== "resend")
      throw new HubError("USAGE", "--as must be delivered or resend");
    withBuffer(file, (b) => b.outbox.resolveAmbiguous(id, as));
    io.out(as === "delivered" ? `#${id} marked delivered` : `#${id} queued to be sent again`);
    return 0;
  },
};
