import { ConfigError } from "../config/load.js";
import { type ErrorCode, HubError, messageOf } from "../core/errors.js";
import type { CliIo, Command } from "./io.js";

/** What the person typed is wrong (exit 2), as opposed to something failing (exit 1). */
const USAGE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "USAGE",
  "CONFIG_NOT_FOUND",
  "DRIVER_UNKNOWN",
]);

/** Runs one command. Errors become one clear line and an exit code, never a stack trace. */
export async function runCommand(command: Command, rest: string[], io: CliIo): Promise<number> {
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(`invalid configuration: ${err.message}`);
      return 2;
    }
    if (err instanceof HubError) {
      io.err(`pkb-hub ${command.name}: ${err.code}: ${err.message}`);
      // What PKB said helps the technician at the terminal (a link refused); `run` writes to the journal: never there.
      if (err.serverText && command.name !== "run") io.err(`  PKB said: ${err.serverText}`);
      return USAGE_CODES.has(err.code) ? 2 : 1;
    }
    io.err(`pkb-hub ${command.name}: unexpected error: ${messageOf(err)}`);
    return 1;
  }
}
