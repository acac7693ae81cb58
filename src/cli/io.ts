import { type ParseArgsConfig, parseArgs } from "node:util";
import { HubError, messageOf } from "../core/errors.js";

/** Where a command writes; injected so tests read the output. */
export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  env: NodeJS.ProcessEnv;
}

export interface Command {
  /** e.g. "outbox list" */
  name: string;
  usage: string;
  summary: string;
  /** Resolves with the exit code. Long-running commands (run, link) resolve when done. */
  run(args: string[], io: CliIo): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** parseArgs with our error: unknown flags and bad values are a USAGE error, never a stack trace. */
export function parse<O extends Options>(args: string[], options: O, allowPositionals = false) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (err) {
    throw new HubError("USAGE", messageOf(err));
  }
}

export function requireOption(value: string | undefined, flag: string): string {
  if (value === undefined || value === "") throw new HubError("USAGE", `missing ${flag}`);
  return value;
}
