import type { z } from "zod";
import { OUTBOX_STATES } from "../../src/buffer/outbox.js";
import { eventSchema, healthSchema, responseSchema, stateSchema } from "../../src/monitor/schemas.js";

/** What must never be on MQTT, for one run: the people, secrets and server text involved, and every reading value. */
export interface PhiCheck {
  /** Names, NHS numbers, dates of birth, PKB error texts: never a substring of any payload. */
  text: string[];
  /** Reading values (canonical units and as the device sent them). */
  values: number[];
}

/** Secrets the test routes use and token words. */
export const SECRETS = ["test-secret", "partner-password", "Bearer", "access_token", "refresh_token"];
/** Server-side text that must stay on the hub (HL7, SOAP, PKB answers). */
export const SERVER_TEXT = ["MSH|", "PID|", "OBX|", "MSA|", "<soap", "faultstring", "<?xml"];

/**
 * Keys whose numbers are counts, ages, sizes, sequence numbers or ids (the schemas make them
 * integers): a count may equal a reading value by chance. Any other key carrying a number is a
 * finding, whole number or not — a new numeric field must be added here knowingly.
 */
const COUNT_KEYS = new Set([
  "schemaVersion",
  "uptimeSec",
  ...OUTBOX_STATES,
  "unsent",
  "oldestUnsentAgeSec",
  "deliveredLastHour",
  "duplicates",
  "refused",
  "usedBytes",
  "maxBytes",
  "expectedIntervalSec",
  "readings",
  "malformedFrames",
  "reconnects",
  "diskFreeBytes",
  "eventsQueued",
  "eventsDropped",
  "seq",
  "requeued",
  "transaction",
]);
/** Numbers that are not counts but may go out: checked against the reading values too. */
const OTHER_NUMERIC_KEYS = new Set(["battery", "rssBytes", "eventLoopLagP99Ms", "eventLoopLagMaxMs"]);

const SCHEMAS: Record<string, z.ZodType> = {
  state: stateSchema,
  health: healthSchema,
  events: eventSchema,
  response: responseSchema,
};

function walk(value: unknown, key: string, visit: (key: string, v: string | number) => void): void {
  if (typeof value === "string" || typeof value === "number") visit(key, value);
  else if (Array.isArray(value)) for (const v of value) walk(v, key, visit);
  else if (value && typeof value === "object")
    for (const [k, v] of Object.entries(value)) {
      visit("(key)", k);
      walk(v, k, visit);
    }
}

/** Everything wrong with one captured MQTT message (empty when it carries nothing it must not). */
export function payloadProblems(m: { topic: string; text: string }, check: PhiCheck): string[] {
  const problems: string[] = [];
  const kind = m.topic.split("/")[2] ?? "";
  let json: unknown;
  try {
    json = JSON.parse(m.text);
  } catch {
    return [`${m.topic}: not JSON`];
  }
  // Every payload is one of the documented, strict shapes: there is no field for anything else.
  if (!SCHEMAS[kind]?.safeParse(json).success) problems.push(`${m.topic}: fails its schema`);
  for (const t of [...check.text, ...SECRETS, ...SERVER_TEXT])
    if (m.text.includes(t)) problems.push(`${m.topic}: contains ${JSON.stringify(t)}`);
  // No token, key or hash: no long base64/hex run anywhere.
  if (/[A-Za-z0-9+/_-]{32,}/.test(m.text)) problems.push(`${m.topic}: a long base64/hex run`);
  const values = new Set(check.values);
  walk(json, "", (key, v) => {
    if (typeof v === "string") {
      for (const n of values)
        if (new RegExp(`(^|[^\\d.])${String(n).replace(".", "\\.")}($|[^\\d.])`).test(v))
          problems.push(`${m.topic}: ${key} ${JSON.stringify(v)} holds the reading value ${n}`);
      return;
    }
    if (COUNT_KEYS.has(key) && Number.isInteger(v)) return;
    if (!COUNT_KEYS.has(key) && !OTHER_NUMERIC_KEYS.has(key))
      problems.push(`${m.topic}: ${key} carries the number ${v} and is no known count`);
    if (values.has(v)) problems.push(`${m.topic}: ${key} carries the reading value ${v}`);
  });
  return problems;
}

/** Every problem of every message (an empty list is a pass). */
export function captureProblems(messages: Array<{ topic: string; text: string }>, check: PhiCheck): string[] {
  return messages.flatMap((m) => payloadProblems(m, check));
}
