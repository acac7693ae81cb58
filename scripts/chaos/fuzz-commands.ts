import fc from "fast-check";
import { parseRequest } from "../../src/monitor/commands.js";
import { LOG_LEVELS } from "../../src/monitor/host.js";
import {
  COMMAND_OPS,
  RESPONSE_ERROR_CODES,
  responseSchema,
  SCHEMA_VERSION,
} from "../../src/monitor/schemas.js";
import { plainOp, Topics } from "../../src/monitor/topics.js";
import { Crash, expectCoded, type FuzzTarget } from "./fuzz-targets.js";

/**
 * The MQTT command parser as the monitor drives it: a request topic from the broker (anything a
 * client may publish under the hub's `request/`), its payload bytes, the op found in the topic, the
 * parsed request and the error answer built from it. A coded error answer is the parser doing its
 * job; a throw, an answer outside the published response schema, a response topic with a wildcard
 * or a message that echoes what was sent is a crash.
 */
const topics = new Topics("pkb-hub", "fuzz-hub");
const REQUEST = `${topics.prefix}/request/`;
/** Planted in every generated string value: an error message must never repeat it. */
const MARK = "\u2603ECHO";

const marked = fc.string({ maxLength: 20 }).map((s) => `${s}${MARK}`);
const anyValue = fc.oneof(
  marked,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(Number.MAX_SAFE_INTEGER + 2),
  fc.array(marked, { maxLength: 3 }),
  fc.dictionary(marked, marked, { maxKeys: 3 }),
);

/**
 * Request objects near the real ones: known keys with good and bad values, odd keys beside them
 * (`__proto__`, `constructor`, repeated keys), written out as JSON text so every key is really sent.
 */
const KEYS: Record<string, fc.Arbitrary<unknown>> = {
  transaction: fc.oneof(
    marked,
    fc.string({ minLength: 60, maxLength: 70 }).map((s) => `${s}${MARK}`),
    fc.nat(),
    fc.integer({ min: -5, max: -1 }),
    anyValue,
  ),
  id: fc.oneof(fc.integer({ min: -2, max: 5 }), anyValue),
  all: fc.oneof(fc.boolean(), anyValue),
  level: fc.oneof(fc.constantFrom(...LOG_LEVELS, "silent"), anyValue),
  durationSec: fc.oneof(fc.integer({ min: -1, max: 4000 }), fc.double(), anyValue),
};
const entry = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .constantFrom(...Object.keys(KEYS))
      .chain((k) => (KEYS[k] as fc.Arbitrary<unknown>).map((v) => [k, v] as const)),
  },
  fc.tuple(fc.constantFrom("__proto__", "constructor", "toString", ""), anyValue),
  fc.tuple(marked, anyValue),
);
const requestShape = fc
  .array(entry, { maxLength: 4 })
  .map(
    (entries) =>
      `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v) ?? "null"}`).join(",")}}`,
  );

const utf8 = (text: string) => new Uint8Array(Buffer.from(text, "utf8"));

const payloadArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  { weight: 6, arbitrary: requestShape.map(utf8) },
  fc.json({ maxDepth: 4 }).map(utf8),
  // Deep nesting, a byte-order mark, invalid UTF-8 around JSON, and sizes around the 4 KiB limit.
  fc.integer({ min: 1, max: 2000 }).map((n) => utf8(`${'{"a":['.repeat(n)}1${"]}".repeat(n)}`)),
  requestShape.map((j) => utf8(`\uFEFF${j}`)),
  fc.tuple(fc.uint8Array({ maxLength: 4 }), requestShape).map(([b, j]) => Buffer.concat([b, utf8(j)])),
  fc.integer({ min: 4090, max: 4100 }).map((n) => utf8(`{${" ".repeat(Math.max(0, n - 2))}}`)),
);

const opArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...COMMAND_OPS) },
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom("+", "#", "ping/extra", "PING", "ping\u0000", "__proto__", "constructor", "toString"),
);
const topicArb = fc.oneof(
  { weight: 6, arbitrary: opArb.map((op) => `${REQUEST}${op}`) },
  fc.string({ maxLength: 80 }),
  fc.string({ unit: "binary", maxLength: 80 }).map((s) => `${REQUEST}${s}`),
);

function check(topic: string, payload: Uint8Array): void {
  const op = topics.opOf(topic);
  if (op === undefined) return;
  const response = topics.response(op);
  if (!response.startsWith(`${topics.prefix}/response/`) || /[+#]/.test(response.slice(topics.prefix.length)))
    throw new Crash(
      `response topic ${JSON.stringify(response)} leaves the hub's response/ or has a wildcard`,
    );
  const parsed = parseRequest(op, payload);
  if (parsed.ok) {
    if (!(COMMAND_OPS as string[]).includes(parsed.op)) throw new Crash(`accepted unknown op ${parsed.op}`);
    return;
  }
  if (!(RESPONSE_ERROR_CODES as readonly string[]).includes(parsed.code))
    throw new Crash(`error code ${parsed.code} is not a published one`);
  if (parsed.message.includes(MARK)) throw new Crash("the error message echoes text that was sent");
  // The error answer as `answer` builds it must be what the response schema publishes.
  const answer = {
    schemaVersion: SCHEMA_VERSION,
    hub: "fuzz-hub",
    op: plainOp(op),
    ...(parsed.transaction === undefined ? {} : { transaction: parsed.transaction }),
    ok: false,
    error: { code: parsed.code, message: parsed.message },
  };
  const valid = responseSchema.safeParse(answer);
  if (!valid.success)
    throw new Crash(`error answer outside the response schema: ${valid.error.issues[0]?.message ?? ""}`);
}

export function commandTargets(): FuzzTarget[] {
  return [
    {
      name: "mqtt:command",
      property: fc.property(topicArb, payloadArb, (topic, payload) => {
        expectCoded("parseRequest", () => check(topic, payload));
      }),
    },
  ];
}
