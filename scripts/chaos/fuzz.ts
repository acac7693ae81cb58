import { flags, intFlag, report } from "../bench/common.js";
import { commandTargets } from "./fuzz-commands.js";
import { fuzzTargets, runTarget } from "./fuzz-targets.js";

/**
 * `npm run chaos -- fuzz [--cases 100000] [--seed N]`: property-based fuzzing (fast-check) of every
 * driver decoder and serial session, the HL7 ACK and SOAP parsers, the config loader and the MQTT
 * command parser (request topic and payload), the cases shared out over the targets. A crash is anything but a coded error; each is printed with its input.
 */
export async function chaosFuzz(args: string[]): Promise<void> {
  const f = flags(args);
  const total = intFlag(f, "cases", 100_000);
  const seed = f.has("seed") ? intFlag(f, "seed", 1) : undefined;
  const targets = fuzzTargets(commandTargets());
  const per = Math.ceil(total / targets.length);
  const results = targets.map((t) => {
    const r = runTarget(t, per, seed);
    if (r.crash) process.stderr.write(`CRASH ${r.name}: ${r.crash}\n  input: ${r.counterexample}\n`);
    return r;
  });
  const cases = results.reduce((n, r) => n + r.cases, 0);
  const crashes = results.filter((r) => r.crash).length;
  report("CHAOS", "fuzz", { cases, crashes }, { targets: results, seed: seed ?? null });
}
