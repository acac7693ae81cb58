import { HubError, isHubError } from "../../src/core/errors.js";
import type { ReadingDraft } from "../../src/core/reading.js";
import type { LocalDateTime } from "../../src/core/time.js";
import { DraftBuilder } from "../draft.js";
import type { DriverDefinition, SerialSession, SessionEvent } from "../types.js";
import { ACK, AstmSplitter, ENQ, EOT, NAK, parseFrame } from "./astm.js";

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

const MARKERS: Record<string, string> = {
  B: "before-meal",
  A: "after-meal",
  F: "fasting",
  D: "dont-feel-right",
  Z: "control",
};

/** One E1394 result record, e.g. `R|8|^^^Glucose|133|mg/dL^P||B/X||201202052034`. Other results are skipped. */
export function decodeResultRecord(record: string): ReadingDraft[] {
  const f = record.split("|");
  if (f[0] !== "R") return [];
  const analyte = f[2]?.split("^")[3];
  if (analyte !== "Glucose") return []; // insulin, carbohydrates: not a glucose reading
  const value = Number(f[3]);
  const [unitText, calibration] = (f[4] ?? "").split("^");
  const time = parseAstmTime(f[8] ?? "");
  if (!Number.isFinite(value) || f[3] === "" || !time) {
    throw new HubError("FRAME_MALFORMED", "ASTM glucose record lacks a numeric value or a time");
  }
  const unit = unitText === "mg/dL" ? "mg/dL" : unitText === "mmol/L" ? "mmol/L" : undefined;
  if (!unit)
    throw new HubError("FRAME_MALFORMED", `ASTM glucose record has unknown unit '${unitText ?? ""}'`);
  const markers = (f[6] ?? "").split("/").filter((m) => m !== "");
  if (markers.includes("Z") || markers.includes("C")) return []; // control solution test
  const b = new DraftBuilder("glucose").add("glucose", value, unit).time(time);
  b.meta("calibration", calibration === "W" ? "whole-blood" : "plasma");
  const meal = markers.map((m) => MARKERS[m]).find((m) => m !== undefined);
  if (meal) b.meta("marker", meal);
  if (f[1]) b.meta("recordNumber", Number(f[1]));
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

/** Decodes one complete (ETX) frame's records; for `pkb-hub decode` and tests. */
export function decodeContourFrame(frame: Uint8Array): ReadingDraft[] {
  if (frame.length === 1) return []; // ENQ / EOT
  const parsed = parseFrame(frame);
  return parsed.text.split("\r").flatMap((record) => decodeResultRecord(record));
}

/**
 * The download conversation: ACK the meter's ENQ, check every frame (NAK a bad one so the meter
 * re-sends it), join ETB continuations, decode records at ETX, and answer ACK only after the
 * records' readings are durable (the transport writes the reply after ingest).
 */
export function createContourSession(): SerialSession {
  const splitter = new AstmSplitter();
  let pending = "";
  return {
    push(bytes) {
      const { items, discarded } = splitter.push(bytes);
      const events: SessionEvent[] = [];
      for (const item of items) {
        if (item.length === 1) {
          if (item[0] === ENQ) events.push({ drafts: [], reply: Uint8Array.of(ACK) });
          if (item[0] === EOT) pending = "";
          continue;
        }
        try {
          const frame = parseFrame(item);
          pending += frame.text;
          if (!frame.final) {
            events.push({ drafts: [], reply: Uint8Array.of(ACK) });
            continue;
          }
          const text = pending;
          pending = "";
          const event: SessionEvent = { drafts: [], reply: Uint8Array.of(ACK) };
          for (const record of text.split("\r")) {
            if (record.startsWith("H")) {
              const h = parseHeader(record);
              if (h.serial) event.deviceSerial = h.serial;
              if (h.meterTime) event.deviceClock = h.meterTime;
            } else {
              event.drafts.push(...decodeResultRecord(record));
            }
          }
          events.push(event);
        } catch (err) {
          if (!isHubError(err)) throw err;
          pending = "";
          events.push({ drafts: [], reply: Uint8Array.of(NAK), error: err });
        }
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
