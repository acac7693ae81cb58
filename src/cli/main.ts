#!/usr/bin/env node
import { runCli } from "./cli.js";
import { processIo } from "./io.js";

runCli(process.argv.slice(2), processIo(process.stdout, process.stderr, process.env)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`pkb-hub: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
