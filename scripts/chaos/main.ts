type Run = (args: string[]) => Promise<void>;

// Loaded on demand: a run pulls in only what it needs (the fuzzer needs no OAuth server).
const RUNS: Record<string, () => Promise<Run>> = {
  kill: async () => (await import("./kill.js")).chaosKill,
  fuzz: async () => (await import("./fuzz.js")).chaosFuzz,
  faults: async () => (await import("./faults.js")).chaosFaults,
  diskfull: async () => (await import("./diskfull.js")).chaosDiskfull,
  soak: async () => (await import("./soak.js")).chaosSoak,
};

const [name, ...rest] = process.argv.slice(2);
const load = name ? RUNS[name] : undefined;
if (!load) {
  process.stderr.write(`usage: npm run chaos -- <${Object.keys(RUNS).join("|")}> [--flags]\n`);
  process.exit(2);
}
load()
  .then((run) => run(rest))
  .then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`chaos ${name} failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
