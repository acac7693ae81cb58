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

/** Node timers hold at most 2^31-1 ms (about 24.8 days); a longer delay fires at once. */
const MAX_TIMER_SEC = Math.floor((2 ** 31 - 1) / 1000);

/** A duration in seconds from a flag: a number in 0 < n ≤ max (never beyond what a timer can hold). */
export function secondsOption(value: string | undefined, flag: string, max = 86_400): number {
  const limit = Math.min(max, MAX_TIMER_SEC);
  const n = Number(value);
  if (value === undefined || value.trim() === "" || !Number.isFinite(n) || n <= 0 || n > limit)
    throw new HubError("USAGE", `${flag} must be a number of seconds, more than 0 and at most ${limit}`);
  return n;
}
