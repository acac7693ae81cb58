import { z } from "zod";
import { LOG_LEVELS } from "./host.js";

/**
 * Every MQTT payload the hub publishes or accepts, as zod schemas: the code builds payloads of
 * these types, tests parse what a real subscriber received with them, and `pkb-hub fleet schema`
 * writes their JSON Schemas into config/ for operations tools. Bump SCHEMA_VERSION on any change
 * a consumer could notice.
 */
export const SCHEMA_VERSION = 1;

const version = z.literal(SCHEMA_VERSION);
const hub = z.string().describe("Hub id (config hub.id)");
const instant = z.iso.datetime().describe("UTC, ISO 8601");
const count = z.number().int().min(0);
const transaction = z
  .union([z.string().min(1).max(64), z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)])
  .describe("Echoed in the response (for MQTT 3.1.1 clients; MQTT 5 clients may use correlation data)");

export const stateSchema = z
  .strictObject({
    schemaVersion: version,
    hub,
    state: z.enum(["online", "offline"]),
    reason: z
      .enum(["shutdown", "connection-lost"])
      .optional()
      .describe("offline only: a clean stop, or the broker's last will"),
    version: z.string().optional(),
    at: instant.optional().describe("When the hub came online or stopped (absent from the last will)"),
  })
  .describe("pkb-hub/<hub>/state (retained)");

const stateCounts = z.strictObject({
  held: count,
  pending: count,
  leased: count,
  ambiguous: count,
  quarantined: count,
  delivered: count,
  dead: count,
});

export const healthBodySchema = z.strictObject({
  hub,
  version: z.string(),
  at: instant,
  uptimeSec: count,
  buffer: z.strictObject({
    byState: stateCounts,
    byRoute: z.record(z.string(), stateCounts),
    unsent: count.describe("held + pending + leased"),
    oldestUnsentAgeSec: count.nullable(),
    deliveredLastHour: count,
    duplicates: count,
    refused: count,
    usedBytes: count,
    maxBytes: count,
  }),
  devices: z.array(
    z.strictObject({
      id: z.string(),
      driver: z.string(),
      transport: z.enum(["serial", "ble", "simulated", "none"]),
      lastSeenAt: instant.nullable(),
      expectedIntervalSec: count.nullable(),
      silent: z.boolean(),
      battery: z.number().min(0).max(100).nullable().describe("Percent, where the device reports it"),
      readings: count,
      malformedFrames: count,
      reconnects: count,
    }),
  ),
  patients: z.array(
    z.strictObject({
      key: z.string().describe("Local pseudonymous patient key; never a name or NHS number"),
      route: z.string(),
      link: z
        .string()
        .describe("linked, relink-needed, unlinked (REST); hl7-known, hl7-a28-sent, hl7-unknown"),
    }),
  ),
  diskFreeBytes: count.nullable(),
  clockSynced: z.boolean(),
  bluetooth: z.enum(["unused", "available", "unavailable"]),
  alerts: z.array(z.strictObject({ code: z.string(), hint: z.string(), since: instant })),
});

export const healthSchema = healthBodySchema
  .extend({
    schemaVersion: version,
    monitor: z.strictObject({
      eventsQueued: count.describe("Events waiting for the broker"),
      eventsDropped: count.describe(
        "Events dropped since start because the queue was full while disconnected",
      ),
    }),
    runtime: z
      .strictObject({
        rssBytes: count.describe("Resident memory of the agent process"),
        eventLoopLagP99Ms: z
          .number()
          .min(0)
          .describe("99th percentile of how late a 100 ms timer fired, since the previous health"),
        eventLoopLagMaxMs: z
          .number()
          .min(0)
          .describe("Worst lateness of that timer since the previous health"),
      })
      .optional()
      .describe("The agent process: memory and event-loop lag (absent from older agents)"),
  })
  .describe("pkb-hub/<hub>/health (retained; every healthIntervalSec and on every alert change)");

export const eventSchema = z
  .strictObject({
    schemaVersion: version,
    hub,
    seq: count.describe("Per run of the agent; a gap means events were dropped"),
    at: instant,
    type: z.enum(["alert-raised", "alert-cleared"]),
    code: z.string(),
    hint: z.string(),
  })
  .describe("pkb-hub/<hub>/events (not retained; queued, bounded, while disconnected)");

const withTx = <T extends z.ZodRawShape>(shape: T) =>
  z.strictObject({ transaction: transaction.optional(), ...shape });

export const requestSchemas = {
  ping: withTx({}),
  status: withTx({}),
  flush: withTx({}),
  retry: withTx({
    id: z.number().int().positive().optional().describe("One dead letter"),
    all: z.literal(true).optional().describe("Every dead letter"),
  }).refine((r) => (r.id === undefined) !== (r.all === undefined), "give exactly one of id or all"),
  scan: withTx({}),
  "log-level": withTx({
    level: z.enum(LOG_LEVELS),
    durationSec: z
      .number()
      .int()
      .min(1)
      .max(3600)
      .default(600)
      .describe("The configured level returns after this"),
  }),
  reload: withTx({}),
} as const;

export type CommandOp = keyof typeof requestSchemas;
export const COMMAND_OPS = Object.keys(requestSchemas) as CommandOp[];

const scanDevice = z.strictObject({
  id: z.string(),
  driver: z.string(),
  transport: z.string(),
  lastSeenAt: instant.nullable(),
  silent: z.boolean(),
});

export const resultSchemas = {
  ping: z.strictObject({ pong: z.literal(true), version: z.string(), uptimeSec: count }),
  status: healthBodySchema,
  flush: z.strictObject({ flushed: z.literal(true) }),
  retry: z.strictObject({ requeued: count }),
  scan: z.strictObject({ devices: z.array(scanDevice) }),
  "log-level": z.strictObject({ level: z.enum(LOG_LEVELS), until: instant }),
  reload: z.strictObject({ applied: z.array(z.string()), restartNeeded: z.array(z.string()) }),
} as const satisfies Record<CommandOp, z.ZodType>;

export type CommandResult<O extends CommandOp> = z.input<(typeof resultSchemas)[O]>;

export const RESPONSE_ERROR_CODES = [
  "COMMAND_INVALID",
  "COMMAND_UNKNOWN",
  "COMMAND_BUSY",
  "RESPONSE_TOPIC_REFUSED",
  "CONFIG_INVALID",
  "FAILED",
] as const;

const errorResponse = z.strictObject({
  schemaVersion: version,
  hub,
  op: z.string(),
  transaction: transaction.optional(),
  ok: z.literal(false),
  error: z.strictObject({
    code: z.enum(RESPONSE_ERROR_CODES),
    message: z.string(),
    problems: z.array(z.string()).optional().describe("reload: every problem of the refused config"),
  }),
});

export const responseSchema = z
  .union([
    ...COMMAND_OPS.map((op) =>
      z.strictObject({
        schemaVersion: version,
        hub,
        op: z.literal(op),
        transaction: transaction.optional(),
        ok: z.literal(true),
        result: resultSchemas[op],
      }),
    ),
    errorResponse,
  ])
  .describe("pkb-hub/<hub>/response/<op> (or the MQTT 5 response topic, when it is under the same prefix)");

export type StatePayload = z.input<typeof stateSchema>;
export type HealthPayload = z.input<typeof healthSchema>;
export type EventPayload = z.input<typeof eventSchema>;
export type ResponsePayload = z.input<typeof responseSchema>;
export type ResponseErrorCode = (typeof RESPONSE_ERROR_CODES)[number];

/** The JSON Schemas written into config/ by `pkb-hub fleet schema`, by file name. */
export function monitorJsonSchemas(): Record<string, Record<string, unknown>> {
  const json = (schema: z.ZodType) =>
    z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
  const requests = z
    .union(COMMAND_OPS.map((op) => requestSchemas[op].meta({ title: `request/${op}` })))
    .describe("pkb-hub/<hub>/request/<op>: the payload of each op (an empty payload is {})");
  return {
    "mqtt-state.schema.json": json(stateSchema),
    "mqtt-health.schema.json": json(healthSchema),
    "mqtt-event.schema.json": json(eventSchema),
    "mqtt-request.schema.json": json(requests),
    "mqtt-response.schema.json": json(responseSchema),
  };
}
