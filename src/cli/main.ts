#!/usr/bin/env node
import { runCli } from "./cli.js";

const io = {
  out: (line: string) => process.stdout.write(`${line}\n`),
  err: (line: string) => process.stderr.write(`${line}\n`),
  env: process.env,
};

runCli(process.argv.slice(2), io).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`pkb-hub: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
