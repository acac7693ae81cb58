import type { DestinationStream } from "pino";

const LEVELS: Record<number, string> = {
  10: "TRACE",
  20: "DEBUG",
  30: "INFO ",
  40: "WARN ",
  50: "ERROR",
  60: "FATAL",
};
const COLOURS: Record<number, string> = { 40: "\x1b[33m", 50: "\x1b[31m", 60: "\x1b[31m" };
/** Shown in the line's head or not at all: the rest of the fields follow as key=value. */
const HEAD = new Set([
  "time",
  "level",
  "msg",
  "service",
  "component",
  "device",
  "driver",
  "pid",
  "hostname",
  "fix",
  "message",
]);

function value(v: unknown): string {
  if (typeof v === "string") return /[\s"=]/.test(v) ? JSON.stringify(v) : v;
  return JSON.stringify(v);
}

/**
 * One pino JSON line as a technician reads it on a terminal: local time, level, where (component
 * and device), the message, the other fields as key=value; an alert's message and its fix on their
 * own lines. Redaction happened before (this only formats what the JSON line already holds).
 */
export function prettyLine(line: string, colour = false): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const level = typeof o.level === "number" ? o.level : 30;
  const time = typeof o.time === "number" ? new Date(o.time).toTimeString().slice(0, 8) : "--:--:--";
  const where = [o.component, o.device].filter((x) => typeof x === "string").join(" ");
  const rest = Object.entries(o)
    .filter(([k]) => !HEAD.has(k))
    .map(([k, v]) => `${k}=${value(v)}`)
    .join(" ");
  const head = `${time} ${LEVELS[level] ?? String(level)} ${where ? `[${where}] ` : ""}${String(o.msg ?? "")}${rest ? `  ${rest}` : ""}`;
  const lines = [head];
  if (typeof o.message === "string") lines.push(`    ${o.message}`);
  if (typeof o.fix === "string") lines.push(`    fix: ${o.fix}`);
  const text = lines.join("\n");
  const c = colour ? COLOURS[level] : undefined;
  return c ? `${c}${text}\x1b[0m` : text;
}

/** A pino destination writing pretty lines (for `pkb-hub run --pretty`). */
export function prettyDestination(write: (text: string) => void, colour = false): DestinationStream {
  return {
    write(chunk: string) {
      for (const line of chunk.split("\n")) if (line.trim() !== "") write(`${prettyLine(line, colour)}\n`);
    },
  };
}
