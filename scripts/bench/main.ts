import { benchClaim } from "./claim.js";
import { benchDrain } from "./drain.js";
import { benchFootprint } from "./footprint.js";
import { benchIngest } from "./ingest.js";

const BENCHES: Record<string, (args: string[]) => Promise<void>> = {
  ingest: benchIngest,
  claim: benchClaim,
  drain: benchDrain,
  footprint: benchFootprint,
};

const [name, ...rest] = process.argv.slice(2);
const bench = name ? BENCHES[name] : undefined;
if (!bench) {
  process.stderr.write(`usage: npm run bench -- <${Object.keys(BENCHES).join("|")}> [--flags]\n`);
  process.exit(2);
}
bench(rest).catch((err: unknown) => {
  process.stderr.write(`bench ${name} failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
