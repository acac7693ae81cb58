import type { ComponentId, ReadingKind } from "./codes.js";
import type { LocalDateTime } from "./time.js";
import type { Ucum } from "./units.js";

export type TimeSource = "device" | "hub" | "hub-unsynced";

/** One measured quantity of a reading, already in the agent's canonical unit for its code row. */
export interface Component {
  id: ComponentId;
  /** LOINC code. */
  code: string;
  snomed: string;
  /** IEEE 11073 MDC code. */
  mdc: number;
  value: number;
  unit: Ucum;
}

export type MetaValue = string | number | boolean;

/**
 * Flags are machine-readable notes a clinician or support may need. Values never live in flags.
 * Examples: `out-of-range:bp-systolic`, `special-value:bp-mean`, `ambiguous-local-time`,
 * `nonexistent-local-time`, `device-time-invalid`, `device-clock-skew`, `irregular-pulse`.
 */
export type Flag = string;

/** The durable reading every driver produces (via `finishReading`) and every forwarder consumes. */
export interface Reading {
  key: string;
  deviceId: string;
  driver: string;
  patient: string;
  kind: ReadingKind;
  components: Component[];
  /** ISO 8601 with offset. */
  measuredAt: string;
  timeSource: TimeSource;
  /** ISO 8601 with offset; when the hub received the bytes. */
  receivedAt: string;
  flags: Flag[];
  /** Device clock minus hub clock in seconds, when it could be measured against a synchronised hub. */
  deviceClockSkewSec?: number;
  /** Raw identity of the record as the device sent it (its own timestamp, sequence number). */
  source?: { deviceTime?: string; seq?: number };
  /** Small typed details (temperature site, sample type, user slot); never names or identifiers. */
  meta: Record<string, MetaValue>;
  /**
   * Set when a value is physically impossible (outside the hard limits of its component): the reading
   * is stored in the `quarantined` state with this reason and never forwarded. The reason names the
   * component and the limits, never the value (values are PHI outside the buffer and the routes).
   */
  quarantine?: string;
}

/** What a pure driver decoder returns: values and the device's own time, before binding to a patient. */
export interface ReadingDraft {
  kind: ReadingKind;
  /** Values in the unit the device sent; `finishReading` converts to canonical units. */
  components: Array<{ id: ComponentId; value: number; unit: Ucum }>;
  /** Device-local wall time, if the frame carries one. */
  deviceTime?: LocalDateTime;
  /** Device record sequence number (e.g. BLE glucose), part of the idempotency key. */
  seq?: number;
  /** Device user slot (BLE BP/weight user id) for slot → patient mapping. */
  userSlot?: number;
  flags?: Flag[];
  meta?: Record<string, MetaValue>;
}
