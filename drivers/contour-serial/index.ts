import { HubError, isHubError } from "../../src/core/errors.js";
import type { LocalDateTime } from "../../src/core/time.js";
import { DraftBuilder } from "../draft.js";
import type { DecodedDraft, DriverDefinition, SerialSession, SessionEvent } from "../types.js";
import { ACK, AstmSplitter, NAK, parseFrame } from "./astm.js";
import { AstmReceiver } from "./link.js";

/** `YYYYMMDDHHMM[SS]` → local wall time. */
export function parseAstmTime(text: string): LocalDateTime | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?$/.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m;
  return {
    year: Number(y),
    month: Number(mo),
    day: Number(d),
    hours: Number(h),
    minutes: Number(mi),
    seconds: Number(s ?? 0),
  };
}

/** Meal markers (Maps, so a marker such as `constructor` finds nothing). */
const MARKERS: ReadonlyMap<string, string> = new Map([
  ["B", "before-meal"],
  ["A", "after-meal"],
  ["F", "fasting"],
  ["D", "dont-feel-right"],
]);

/**
 * The reference method after the unit (`mg/dL^P`): what the meter's value is calibrated to.
 * B is whole blood, P plasma (Contour programming guide); W is whole blood in older notes. Any other
 * letter is recorded as it came, never guessed.
 */
const REFERENCE_METHODS: ReadonlyMap<string, string> = new Map([
  ["P", "plasma"],
  ["B", "whole-blood"],
  ["W", "whole-blood"],
]);

/** A result value is digits with at most one decimal point: no sign, exponent, hex or spaces. */
const DECIMAL = /^\d+(\.\d+)?$/;

/**
 * One E1394 result record as Contour meters send it, e.g. `R|8|^^^Glucose|133|mg/dL^P||B/X||201202052034`:
 * 1 record number, 2 test (`^^^Glucose`), 3 value, 4 unit^reference method, 6 markers (`/`-separated;
 * `>` / `<` mean the meter showed HI / LO and the value is its limit), 8 time. Other tests are skipped.
 */
export function decodeResultRecord(record: string): DecodedDraft[] {
  const f = record.split("|");
  if (f[0] !== "R") return [];
  const analyte = f[2]?.split("^")[3];
  if (analyte !== "Glucose") return []; // insulin, carbohydrates: not a glucose reading
  // A missing field reads "undefined", which is neither a value nor a time.
  const valueText = String(f[3]);
  const time = parseAstmTime(String(f[8]));
  if (!DECIMAL.test(valueText) || !time) {
    throw new HubError("FRAME_MALFORMED", "ASTM glucose record lacks a numeric value or a time");
  }
  // With a time in field 8, fields 4 and 6 are there (possibly empty).
  const [unitText, method] = (f[4] as string).split("^");
  const unit = unitText === "mg/dL" ? "mg/dL" : unitText === "mmol/L" ? "mmol/L" : undefined;
  if (!unit) throw new HubError("FRAME_MALFORMED", `ASTM glucose record has unknown unit '${unitText}'`);
  const markers = (f[6] as string).split("/");
  if (markers.includes("Z") || markers.includes("C")) return []; // control solution test
  const above = markers.includes(">");
  const below = markers.includes("<");
  if (above && below)
    throw new HubError("FRAME_MALFORMED", "ASTM glucose record is both above and below range");
  const b = new DraftBuilder("glucose")
    .add("glucose", Number(valueText), unit)
    .time(time)
    .sentTime(time)
    .sentRecord(record);
  if (above) b.flag("above-measuring-range:glucose");
  if (below) b.flag("below-measuring-range:glucose");
  b.meta("calibration", REFERENCE_METHODS.get(String(method)) ?? `unknown-${method || "none"}`);
  const meal = markers.map((m) => MARKERS.get(m)).find((m) => m !== undefined);
  if (meal) b.meta("marker", meal);
  if (f[1] && /^\d+$/.test(f[1])) b.meta("recordNumber", Number(f[1]));
  return b.build();
}

export interface AstmHeader {
  serial?: string;
  meterTime?: LocalDateTime;
}

/** Header: `H|\^&||…|Bayer7390^01.24\01.04^7390-1234567^…|…|YYYYMMDDHHMM`: serial number and meter clock. */
export function parseHeader(record: string): AstmHeader {
  const f = record.split("|");
  const out: AstmHeader = {};
  const serial = f[4]?.split("^")[2];
  if (serial) out.serial = serial;
  const time = [...f]
    .reverse()
    .map(parseAstmTime)
    .find((t) => t !== undefined);
  if (time) out.meterTime = time;
  return out;
}

/** Decodes the records of one captured frame, on its own (no link state); for `pkb-hub decode` and tests. */
export function decodeContourFrame(frame: Uint8Array): DecodedDraft[] {
  return parseFrame(frame)
    .text.split("\r")
    .flatMap((record) => decodeResultRecord(record));
}

/** Decodes the complete records of one accepted frame: the header's serial and clock, the results. */
function decodeRecords(records: string[]): SessionEvent {
  const event: SessionEvent = { drafts: [] };
  for (const record of records) {
    try {
      if (record.startsWith("H")) {
        const h = parseHeader(record);
        if (h.serial) event.deviceSerial = h.serial;
        if (h.meterTime) event.deviceClock = h.meterTime;
      } else {
        event.drafts.push(...decodeResultRecord(record));
      }
    } catch (err) {
      // Only HubError is expected here; anything else is a bug that must not be swallowed.
      if (!isHubError(err)) throw err;
      // The frame arrived intact, so a re-send would bring the same record: it is refused (counted and
      // logged by code) and the download goes on — a NAK here would stall every later record for good.
      event.error ??= err;
    }
  }
  return event;
}

/**
 * The download conversation (E1381 link, E1394 records): ACK the meter's ENQ; decode each record as
 * soon as its frame is accepted, and ACK that frame only once its readings are durable (the transport
 * writes the reply after ingest, and rolls the frame back when they could not be stored); NAK a bad
 * or out-of-order frame, keeping everything already received; ACK a repeated frame without decoding
 * it again.
 */
export function createContourSession(): SerialSession {
  const splitter = new AstmSplitter();
  const link = new AstmReceiver();
  const ack = () => Uint8Array.of(ACK);
  return {
    push(bytes) {
      const { items, discarded } = splitter.push(bytes);
      const events: SessionEvent[] = [];
      for (const item of items) {
        const r = link.receive(item);
        if (r.kind === "establish" || r.kind === "repeat") events.push({ drafts: [], reply: ack() });
        else if (r.kind === "reject") events.push({ drafts: [], reply: Uint8Array.of(NAK), error: r.error });
        else if (r.kind === "ignore") events.push({ drafts: [], error: r.error });
        else if (r.kind === "records")
          events.push({ ...decodeRecords(r.records), reply: ack(), rollback: r.rollback });
        else if (r.droppedText !== "")
          events.push({ drafts: [], error: new HubError("FRAME_SHORT", "transfer ended inside a record") });
      }
      return { events, discarded };
    },
  };
}

export const driver: DriverDefinition = {
  id: "contour-serial",
  description: "Contour-family glucose meters over USB-serial: ASTM E1381/E1394 record download",
  matcher: { transport: "serial", usb: [{ vendorId: "1a79" }] },
  serial: { baudRate: 9600, dataBits: 8, parity: "none", stopBits: 1 },
  decode: (frame) => decodeContourFrame(frame),
  createSession: createContourSession,
};
