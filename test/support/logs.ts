import type { LevelWithSilent } from "pino";
import { createLogger } from "../../src/core/log.js";

export type LogLine = Record<string, unknown> & { msg: string; level: number };

/** A real hub logger (redaction, serializers) whose JSON lines are kept for the test to read. */
export function captureLogs(level: LevelWithSilent = "info") {
  const lines: string[] = [];
  const logger = createLogger({ level, destination: { write: (l: string) => lines.push(l) } });
  const parsed = () => lines.map((l) => JSON.parse(l) as LogLine);
  return { lines, logger, parsed };
}
