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

/**
 * The process's own streams. A reader that goes away early (`pkb-hub outbox list | head -1`)
 * closes the pipe: further output is dropped quietly instead of ending in an EPIPE stack trace.
 */
export function processIo(
  stdout: NodeJS.WritableStream,
  stderr: NodeJS.WritableStream,
  env: NodeJS.ProcessEnv,
): CliIo {
  const writer = (stream: NodeJS.WritableStream) => {
    let closed = false;
    stream.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code !== "EPIPE") throw err;
      closed = true;
    });
    return (line: string) => {
      if (!closed) stream.write(`${line}\n`);
    };
  };
  return { out: writer(stdout), err: writer(stderr), env };
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
