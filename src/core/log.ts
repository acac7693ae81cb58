import type { DestinationStream, LevelWithSilent, Logger } from "pino";
import { pino } from "pino";

export type { Logger } from "pino";

/** Keys whose values are PHI or secrets. Redacted at every level, wherever they appear (3 levels deep). */
const SENSITIVE_KEYS = [
  "name",
  "firstName",
  "lastName",
  "givenName",
  "familyName",
  "dob",
  "dateOfBirth",
  "birthDate",
  "nhsNumber",
  "nationalIds",
  "email",
  "postcode",
  "address",
  "value",
  "values",
  "components",
  "body",
  "payload",
  "hl7",
  "token",
  "accessToken",
  "refreshToken",
  "access_token",
  "refresh_token",
  "id_token",
  "authorizationCode",
  "code_verifier",
  "password",
  "secret",
  "clientSecret",
  "authorization",
  "Authorization",
  "cookie",
  "deviceSecret",
];

export const REDACT_PATHS = SENSITIVE_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

export interface LoggerOptions {
  level?: LevelWithSilent;
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? "info",
      base: { service: "pkb-hub" },
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      serializers: { err: errSerializer },
    },
    options.destination ?? pino.destination({ fd: 2, sync: false }),
  );
}

/**
 * Errors are logged by code, message and details only. What PKB said (an MSA-3, an OAuth error
 * description, a REST error body) may quote a name or an NHS number: HubError keeps it apart in
 * `serverText`, which is never logged at any level, like the cause (it may carry the same text).
 */
function errSerializer(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: String(err) };
  // V8's JSON.parse quotes the text it could not parse (a server's body): the type says enough.
  if (err instanceof SyntaxError) return { type: err.name };
  const out: Record<string, unknown> = { type: err.name, message: err.message };
  const withCode = err as Error & { code?: unknown; details?: unknown };
  if (withCode.code !== undefined) out.code = withCode.code;
  if (withCode.details !== undefined) out.details = withCode.details;
  return out;
}

/** A logger that drops everything, for tests and tools. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
