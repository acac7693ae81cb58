import type { ComponentId } from "../src/core/codes.js";
import type { HubError } from "../src/core/errors.js";
import type { ReadingDraft } from "../src/core/reading.js";
import type { LocalDateTime } from "../src/core/time.js";

/** One value as the device sent it, in its own unit, before any conversion; or the special value it sent. */
export interface SentValue {
  id: ComponentId;
  unit: string;
  value?: number;
  special?: string;
}

/**
 * What the device sent for one reading, for support to compare with the device's screen
 * (`pkb-hub decode --json`). Never stored: the reading keeps its own raw identity (`Reading.source`).
 */
export interface SentRecord {
  values: SentValue[];
  /** The device's time field as sent (local wall time, no zone), even when it is unknown or ignored. */
  deviceTime?: string;
  /** Glucose records: the time offset (minutes) the meter added to its base time. */
  timeOffsetMinutes?: number;
  /** Text protocols: the record as received. */
  record?: string;
}

/** A draft straight from a decoder, with what the device sent beside it. */
export interface DecodedDraft extends ReadingDraft {
  sent: SentRecord;
}

/** Serial line settings a driver needs. */
export interface SerialSettings {
  baudRate: number;
  dataBits: 8 | 7;
  parity: "none" | "even" | "odd";
  stopBits: 1 | 2;
}

/** What a transport needs to find a device and what it subscribes to. */
export type Matcher =
  | { transport: "serial"; usb: Array<{ vendorId: string; productId?: string }> }
  | {
      transport: "ble";
      /** 16-bit service UUIDs, lower-case hex without 0x, e.g. "1810". */
      services: string[];
      namePrefixes?: string[];
      /** Characteristics to subscribe to (indications or notifications). */
      characteristics: string[];
      /**
       * Those of `characteristics` whose values are a continuous stream (heart rate, PLX continuous):
       * condensed into one spot reading per window before they become readings, never stored one by one.
       */
      streams?: string[];
      /** Record Access Control Point for stored-record download (glucose). */
      racp?: string;
    };

/** One step of a serial conversation: readings to store, then (only after they are durable) a reply. */
export interface SessionEvent {
  drafts: ReadingDraft[];
  /** Bytes to answer once the drafts are committed (e.g. ASTM ACK), or a NAK for a bad frame. */
  reply?: Uint8Array;
  /** A frame was refused (checksum, malformed): counted and logged by code, never fatal. */
  error?: HubError;
  /** The meter reported its own clock (local wall time), for the clock skew. */
  deviceClock?: LocalDateTime;
  /** The meter reported its serial number. */
  deviceSerial?: string;
  /**
   * Called by the transport when the drafts could not be stored (and so no reply is written): the
   * session forgets the frame, so the device's re-sent copy is decoded again, not taken for a repeat.
   */
  rollback?: () => void;
}

/**
 * A serial session cuts a byte stream into frames and decodes them (stateful but pure: no I/O).
 * `push` returns what happened; answering is the transport's job.
 */
export interface SerialSession {
  push(bytes: Uint8Array): { events: SessionEvent[]; discarded: number };
}

/** A device family: data plus a pure decoder. Quirks are data. */
export interface DriverDefinition {
  id: string;
  description: string;
  matcher: Matcher;
  serial?: SerialSettings;
  /** Decodes one frame (BLE: one characteristic value) into reading drafts. Throws HubError FRAME_*. */
  decode(frame: Uint8Array, characteristic?: string): DecodedDraft[];
  /** For serial drivers: a fresh session for a new connection. */
  createSession?: () => SerialSession;
  /**
   * Serial drivers whose every reading is a stream sample, condensed before it becomes a reading
   * (BLE drivers name their stream characteristics in `matcher.streams` instead).
   */
  continuous?: boolean;
}
