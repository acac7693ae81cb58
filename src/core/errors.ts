/**
 * One error class for the whole agent. Codes are stable strings: tests, logs, MQTT events and
 * technicians rely on them, so never rename one. Messages must never carry PHI or secrets.
 */
export const ERROR_CODES = {
  // configuration and CLI input
  CONFIG_INVALID: false,
  CONFIG_NOT_FOUND: false,
  USAGE: false,
  // device frames
  FRAME_SHORT: false,
  FRAME_MALFORMED: false,
  FRAME_CHECKSUM: false,
  FRAME_UNSUPPORTED: false,
  DRIVER_UNKNOWN: false,
  // transports
  TRANSPORT_CANCELED: false,
  TRANSPORT_CLOSED: true,
  TRANSPORT_OPEN_FAILED: true,
  SERIAL_PERMISSION: false,
  SERIAL_LOCKED: true,
  BLUETOOTH_UNAVAILABLE: false,
  BLE_BONDING_REQUIRED: false,
  // buffer
  BUFFER_FULL: true,
  DISK_FULL: true,
  STORAGE_IO: true,
  BUFFER_CORRUPT: false,
  /** The buffer was written by a newer agent (a downgrade): refused, the file left untouched. */
  BUFFER_TOO_NEW: false,
  BUFFER_CLOSED: false,
  LEASE_LOST: false,
  OUTBOX_STATE: false,
  // clock and readings
  CLOCK_UNSYNCED: true,
  READING_INVALID: false,
  NHS_NUMBER_INVALID: false,
  DOCUMENT_INVALID: false,
  DOCUMENT_TOO_LARGE: false,
  // forwarding
  NETWORK: true,
  TIMEOUT: true,
  SERVER_ERROR: true,
  RATE_LIMITED: true,
  AUTH_FAILED: false,
  RELINK_NEEDED: false,
  REJECTED: false,
  PROTOCOL: false,
  MISATTRIBUTION: false,
  LINK_DENIED: false,
  LINK_TIMEOUT: false,
  SECRET_UNREADABLE: false,
  // the hub's own directories (a file in the way, no permission, a file system that holds no files)
  DATA_DIR_UNUSABLE: false,
  INTERNAL: false,
} as const satisfies Record<string, boolean>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface HubErrorOptions {
  cause?: unknown;
  /** Overrides the code's default retryability (e.g. a 4xx that is known to be transient). */
  retryable?: boolean;
  /** Safe, PHI-free structured details for logs and MQTT events. */
  details?: Record<string, string | number | boolean>;
  /**
   * Text the server (PKB) gave: an MSA-3, an OAuth error and its description, a REST error body, a
   * parser's complaint about what PKB sent. It may quote a name or an NHS number, so it is never
   * part of the message: logs and MQTT never carry it; an outbox row's reason keeps it (`reasonOf`),
   * shown only on request (`outbox list --show-reasons`), and the CLI shows it to the technician.
   */
  serverText?: string;
}

export class HubError extends Error {
  override readonly name = "HubError";
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: Record<string, string | number | boolean>;
  /** See HubErrorOptions.serverText: never logged, never on MQTT. */
  readonly serverText: string | undefined;

  constructor(code: ErrorCode, message: string, options: HubErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? ERROR_CODES[code];
    this.details = options.details ?? {};
    this.serverText = options.serverText;
  }
}

export function isHubError(err: unknown, code?: ErrorCode): err is HubError {
  return err instanceof HubError && (code === undefined || err.code === code);
}

/** True when trying the same thing later may succeed. Unknown errors are not retryable. */
export function isRetryable(err: unknown): boolean {
  return err instanceof HubError && err.retryable;
}

/**
 * Why, for an outbox row's reason (kept in the buffer, shown only with `--show-reasons`): code,
 * message and what the server said. Never for a log line or MQTT: use the code (or `{ err }`) there.
 */
export function reasonOf(err: unknown, otherwise = "internal error"): string {
  if (!(err instanceof HubError)) return otherwise;
  const said = err.serverText ? ` (PKB said: ${err.serverText})` : "";
  return `${err.code}: ${err.message}${said}`;
}

/** The message of any thrown value, for translating lower errors into ours. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
