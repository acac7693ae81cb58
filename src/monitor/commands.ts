import type { z } from "zod";
import { isHubError } from "../core/errors.js";
import type { MonitorHost } from "./host.js";
import {
  COMMAND_OPS,
  type CommandOp,
  type CommandResult,
  type ResponseErrorCode,
  type ResponsePayload,
  requestSchemas,
  SCHEMA_VERSION,
} from "./schemas.js";
import { plainOp } from "./topics.js";

/** Requests larger than this are refused unread: no command needs more. */
export const MAX_REQUEST_BYTES = 4096;

export type Transaction = string | number;

export type ParsedRequest =
  | { ok: true; op: CommandOp; request: Record<string, unknown>; transaction?: Transaction }
  | { ok: false; code: ResponseErrorCode; message: string; transaction?: Transaction };

function isOp(op: string): op is CommandOp {
  return (COMMAND_OPS as string[]).includes(op);
}

/** The transaction id of a payload that is otherwise refused, so even the error can be correlated. */
function transactionOf(value: unknown): Transaction | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const t = (value as Record<string, unknown>).transaction;
  if (typeof t === "string" && t.length > 0 && t.length <= 64) return t;
  if (typeof t === "number" && Number.isSafeInteger(t) && t >= 0) return t;
  return undefined;
}

function describeIssues(error: z.ZodError): string {
  const text = error.issues
    .map((i) => {
      const path = i.path.map(String).join(".");
      // Key names only, never the values sent (a request must not become a way to echo text).
      const message = i.code === "unrecognized_keys" ? "unknown key(s)" : i.message;
      return path ? `${path}: ${message}` : message;
    })
    .join("; ");
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}

/**
 * Parses one request (pure: no I/O, never throws). An empty payload is `{}`. Anything that is not
 * a known op with a valid JSON object payload is an error answer, never an exception.
 */
export function parseRequest(op: string, payload: Uint8Array): ParsedRequest {
  if (!isOp(op))
    return {
      ok: false,
      code: "COMMAND_UNKNOWN",
      message: `unknown command; known: ${COMMAND_OPS.join(", ")}`,
    };
  if (payload.byteLength > MAX_REQUEST_BYTES)
    return { ok: false, code: "COMMAND_INVALID", message: `payload larger than ${MAX_REQUEST_BYTES} bytes` };
  let raw: unknown = {};
  const text = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString("utf8").trim();
  if (text.length > 0) {
    try {
      raw = JSON.parse(text);
    } catch {
      return { ok: false, code: "COMMAND_INVALID", message: "payload is not JSON" };
    }
  }
  const transaction = transactionOf(raw);
  const tx = transaction === undefined ? {} : { transaction };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    return { ok: false, code: "COMMAND_INVALID", message: "payload must be a JSON object", ...tx };
  const parsed = requestSchemas[op].safeParse(raw);
  if (!parsed.success)
    return { ok: false, code: "COMMAND_INVALID", message: describeIssues(parsed.error), ...tx };
  return { ok: true, op, request: parsed.data as Record<string, unknown>, ...tx };
}

type Answer =
  | { ok: true; result: CommandResult<CommandOp> }
  | { ok: false; error: { code: ResponseErrorCode; message: string; problems?: string[] } };

function failure(code: ResponseErrorCode, message: string, problems?: string[]): Answer {
  return { ok: false, error: { code, message, ...(problems ? { problems } : {}) } };
}

/** Runs a parsed request against the host. Errors become an answer (code and a PHI-free message). */
async function execute(op: CommandOp, request: Record<string, unknown>, host: MonitorHost): Promise<Answer> {
  switch (op) {
    case "ping": {
      const s = host.status();
      return { ok: true, result: { pong: true, version: s.version, uptimeSec: s.uptimeSec } };
    }
    case "status":
      return { ok: true, result: host.status() };
    case "flush":
      host.flush();
      return { ok: true, result: { flushed: true } };
    case "retry": {
      const id = typeof request.id === "number" ? request.id : undefined;
      return { ok: true, result: { requeued: host.retryDead(id === undefined ? {} : { id }) } };
    }
    case "scan": {
      const devices = host.status().devices.map((d) => ({
        id: d.id,
        driver: d.driver,
        transport: d.transport,
        lastSeenAt: d.lastSeenAt,
        silent: d.silent,
      }));
      return { ok: true, result: { devices } };
    }
    case "log-level": {
      const parsed = requestSchemas["log-level"].parse(request);
      const set = host.setLogLevel(parsed.level, parsed.durationSec);
      return { ok: true, result: { level: set.level, until: new Date(set.untilMs).toISOString() } };
    }
    case "reload": {
      const r = await host.reload();
      if (r.ok) return { ok: true, result: { applied: r.applied, restartNeeded: r.restartNeeded } };
      return failure(
        "CONFIG_INVALID",
        "the configuration was not applied; the running one is kept",
        r.problems,
      );
    }
  }
}

/** Parses and runs one request into the full response payload. Never throws. */
export async function answer(
  hubId: string,
  op: string,
  payload: Uint8Array,
  host: MonitorHost,
  refuse?: { code: ResponseErrorCode; message: string },
): Promise<ResponsePayload> {
  const parsed = parseRequest(op, payload);
  const head = {
    schemaVersion: SCHEMA_VERSION,
    hub: hubId,
    op: plainOp(op),
    ...(parsed.transaction === undefined ? {} : { transaction: parsed.transaction }),
  } as const;
  if (refuse) return { ...head, ...failure(refuse.code, refuse.message) } as ResponsePayload;
  if (!parsed.ok) return { ...head, ...failure(parsed.code, parsed.message) } as ResponsePayload;
  let body: Answer;
  try {
    body = await execute(parsed.op, parsed.request, host);
  } catch (err) {
    // HubError messages are written PHI-free; anything else is reported by kind only.
    body = failure("FAILED", isHubError(err) ? `${err.code}: ${err.message}` : "internal error");
  }
  return { ...head, ...body } as ResponsePayload;
}
