import { chaosKill } from "./kill.js";

const RUNS: Record<string, (args: string[]) => Promise<void>> = { kill: chaosKill };

const [name, ...rest] = process.argv.slice(2);
const run = name ? RUNS[name] : undefined;
if (!run) {
  process.stderr.write(`usage: npm run chaos -- <${Object.keys(RUNS).join("|")}> [--flags]\n`);
  process.exit(2);
}
run(rest).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`chaos ${name} failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
