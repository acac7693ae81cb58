import { existsSync, readFileSync } from "node:fs";
import { runCommand } from "./command.js";
import { COMMANDS } from "./commands/index.js";
import type { CliIo, Command } from "./io.js";

/**
 * The release's version, from the nearest package.json above this file named pkb-hub
 * (`dist/src/cli/` in a build or an installed release under /opt/pkb-hub/<version>, `src/cli/` in tests).
 */
export function version(): string {
  for (let up = 2; up <= 3; up++) {
    const file = new URL(`${"../".repeat(up)}package.json`, import.meta.url);
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, "utf8")) as { name?: unknown; version?: unknown };
    if (pkg.name === "pkb-hub" && typeof pkg.version === "string") return pkg.version;
  }
  return "unknown";
}

export function helpText(): string {
  const width = Math.max(...COMMANDS.map((c) => c.usage.length));
  return [
    "pkb-hub — patient home hub agent for Patients Know Best",
    "",
    "usage:",
    ...COMMANDS.map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`),
    "",
    `${"  pkb-hub --version".padEnd(width + 2)}  print the version`,
    "",
    "Exit codes: 0 ok, 1 failure, 2 usage or configuration error.",
  ].join("\n");
}

function find(args: string[]): { command: Command; rest: string[] } | undefined {
  // Longest match first: "outbox list" before "outbox".
  const sorted = [...COMMANDS].sort((a, b) => b.name.split(" ").length - a.name.split(" ").length);
  for (const command of sorted) {
    const words = command.name.split(" ");
    if (words.every((w, i) => args[i] === w)) return { command, rest: args.slice(words.length) };
  }
  return undefined;
}

/** Runs one CLI invocation. Errors become one clear line and an exit code, never a stack trace. */
export async function runCli(args: string[], io: CliIo): Promise<number> {
  if (args.length === 0 || args[0] === "--help" || args[0] === "-h" || args[0] === "help") {
    io.out(helpText());
    return args.length === 0 ? 2 : 0;
  }
  if (args[0] === "--version" || args[0] === "-V") {
    io.out(`pkb-hub ${version()}`);
    return 0;
  }
  const found = find(args);
  if (!found) {
    io.err(`pkb-hub: unknown command '${args.join(" ")}'. Run 'pkb-hub --help'.`);
    return 2;
  }
  if (found.rest.includes("--help") || found.rest.includes("-h")) {
    io.out(`usage: ${found.command.usage}\n${found.command.summary}`);
    return 0;
  }
  return runCommand(found.command, found.rest, io);
}
