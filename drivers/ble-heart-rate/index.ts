import { HubError } from "../../src/core/errors.js";
import { byCharacteristic } from "../characteristic.js";
import { DraftBuilder } from "../draft.js";
import { bit, Reader } from "../ieee11073.js";
import type { DriverDefinition } from "../types.js";

export const HEART_RATE_MEASUREMENT = "2a37";
/** Flag bits 5-7 are reserved for future use. */
const RESERVED_FLAGS = 0xe0;
/** Sensor contact status (flag bits 1-2) 2: the feature is supported and the sensor is not touching the skin. */
const CONTACT_NOT_DETECTED = 2;

/**
 * Heart Rate Measurement (0x2A37): flags (bit0 value format uint8/uint16, bits 1-2 sensor contact
 * status, bit3 energy expended present, bit4 RR intervals present), heart rate, [energy expended
 * uint16 kJ], [RR intervals uint16 1/1024 s, one or more, to the end of the frame] — a stream sample.
 */
export function decodeHeartRate(frame: Uint8Array) {
  const r = new Reader(frame, "heart rate measurement");
  const flags = r.u8();
  const hr = bit(flags, 0) ? r.u16() : r.u8();
  if (bit(flags, 3)) r.u16(); // energy expended, kJ: not a clinical reading
  let rrIntervals = 0;
  if (bit(flags, 4)) {
    // RR intervals fill the rest of the frame, two bytes each: none, or half of one, is a broken frame.
    if (r.remaining === 0)
      throw new HubError("FRAME_SHORT", "heart rate measurement: RR intervals announced, none follow");
    if (r.remaining % 2 !== 0)
      throw new HubError("FRAME_MALFORMED", "heart rate measurement: odd byte after the RR intervals");
    rrIntervals = r.remaining / 2;
    r.skip(r.remaining);
  }
  r.end(flags, RESERVED_FLAGS);
  const contact = (flags >> 1) & 0x3;
  if (contact === CONTACT_NOT_DETECTED) return []; // no skin contact: the number is not a heart rate
  const b = new DraftBuilder("heart-rate").add("heart-rate", hr, "/min");
  if (rrIntervals > 0) b.meta("rrIntervals", rrIntervals); // counted, not forwarded as values
  return b.build();
}

export const driver: DriverDefinition = {
  id: "ble-heart-rate",
  description: "Bluetooth Heart Rate profile (service 0x180D)",
  matcher: {
    transport: "ble",
    services: ["180d"],
    characteristics: [HEART_RATE_MEASUREMENT],
    streams: [HEART_RATE_MEASUREMENT],
  },
  decode: byCharacteristic("heart rate", { [HEART_RATE_MEASUREMENT]: decodeHeartRate }),
};
