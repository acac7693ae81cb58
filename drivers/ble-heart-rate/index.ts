import { DraftBuilder } from "../draft.js";
import { bit, Reader } from "../ieee11073.js";
import type { DriverDefinition } from "../types.js";

/** Heart Rate Measurement (0x2A37): flags, HR uint8|uint16, [energy], [RR intervals] — a stream sample. */
export function decodeHeartRate(frame: Uint8Array) {
  const r = new Reader(frame, "heart rate measurement");
  const flags = r.u8();
  const hr = bit(flags, 0) ? r.u16() : r.u8();
  const b = new DraftBuilder("heart-rate").add("heart-rate", hr, "/min");
  const contact = (flags >> 1) & 0x3;
  if (contact === 2) b.flag("sensor-contact-lost");
  if (bit(flags, 3)) r.u16(); // energy expended, kJ: not a clinical reading
  if (bit(flags, 4)) b.meta("rrIntervals", Math.floor(r.remaining / 2)); // counted, not forwarded
  return contact === 2 ? [] : b.build();
}

export const driver: DriverDefinition = {
  id: "ble-heart-rate",
  description: "Bluetooth Heart Rate profile (service 0x180D)",
  matcher: { transport: "ble", services: ["180d"], characteristics: ["2a37"] },
  continuous: true,
  decode: (frame) => decodeHeartRate(frame),
};
