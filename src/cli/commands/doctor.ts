import { ConfigError, loadConfig } from "../../config/load.js";
import { type CheckResult, type DoctorProbes, isHealthy, runChecks } from "../../ops/doctor.js";
import { systemProbes } from "../../ops/doctor-probes.js";
import { type CliIo, type Command, parse, requireOption } from "../io.js";

const MARK: Record<CheckResult["status"], string> = { ok: "ok  ", warn: "WARN", fail: "FAIL", info: "note" };

export function renderChecks(results: readonly CheckResult[]): string[] {
  const lines: string[] = [];
  for (const r of results) {
    lines.push(`${MARK[r.status]}  ${r.id.padEnd(24)} ${r.summary}`);
    if (r.fix && r.status !== "ok") lines.push(`      ${"".padEnd(24)} fix: ${r.fix}`);
  }
  const failed = results.filter((r) => r.status === "fail").length;
  const warned = results.filter((r) => r.status === "warn").length;
  lines.push(
    failed === 0
      ? `healthy${warned > 0 ? ` (${warned} warning(s))` : ""}`
      : `NOT healthy: ${failed} check(s) failed${warned > 0 ? `, ${warned} warning(s)` : ""}`,
  );
  return lines;
}

/** The checks for `file`; an invalid config is one failed check listing every problem. */
export async function doctorResults(file: string, probes: DoctorProbes): Promise<CheckResult[]> {
  try {
    const config = loadConfig(file);
    return await runChecks(file, config, probes.account(config.hub), probes);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return [
      {
        id: "config",
        status: "fail",
        summary: err.message,
        fix: `correct the problems listed (pkb-hub config check ${file}); no other check can run without a valid config`,
      },
    ];
  }
}

/** Prints the report; resolves with the exit code (0 healthy, 1 not). */
export async function reportDoctor(
  file: string,
  json: boolean,
  io: CliIo,
  probes: DoctorProbes,
): Promise<number> {
  const results = await doctorResults(file, probes);
  const healthy = isHealthy(results);
  if (json) io.out(JSON.stringify({ healthy, checks: results }, null, 2));
  else for (const line of renderChecks(results)) io.out(line);
  return healthy ? 0 : 1;
}

export const doctor: Command = {
  name: "doctor",
  usage: "pkb-hub doctor --config FILE [--json]",
  summary:
    "check the hub: clock, disk, files and owners, secrets, serial, Bluetooth, broker, PKB, links, devices (exit 0 = healthy)",
  async run(args, io) {
    const { values } = parse(args, { config: { type: "string", short: "c" }, json: { type: "boolean" } });
    return reportDoctor(
      requireOption(values.config, "--config FILE"),
      values.json === true,
      io,
      systemProbes(),
    );
  },
};
