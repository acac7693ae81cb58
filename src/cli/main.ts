#!/usr/bin/env node
import { processIo } from "./io.js";

/**
 * `pkb-hub run` (the service) loads only the run command and what running needs; every other
 * command (and `run --help`) loads the whole CLI. Start-up time and idle memory on a hub.
 */
async function main(args: string[]): Promise<number> {
  const io = processIo(process.stdout, process.stderr, process.env);
  if (args[0] === "run" && !args.includes("--help") && !args.includes("-h")) {
    const [{ runCommand }, { run }] = await Promise.all([
      import("./command.js"),
      import("./commands/run.js"),
    ]);
    return runCommand(run, args.slice(1), io);
  }
  const { runCli } = await import("./cli.js");
  return runCli(args, io);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`pkb-hub: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
