import { DraftBuilder } from "../draft.js";
import { bit, knownTime, Reader } from "../ieee11073.js";
import type { DriverDefinition } from "../types.js";

const SITES = [
  "",
  "armpit",
  "body",
  "ear",
  "finger",
  "gastro-intestinal-tract",
  "mouth",
  "rectum",
  "toe",
  "tympanum",
];

/** Temperature Measurement (0x2A1C): flags, FLOAT, [time], [type]. */
export function decodeTemperature(frame: Uint8Array) {
  const r = new Reader(frame, "temperature measurement");
  const flags = r.u8();
  const b = new DraftBuilder("temperature").add(
    "body-temperature",
    r.float(),
    bit(flags, 0) ? "[degF]" : "Cel",
  );
  if (bit(flags, 1)) b.time(knownTime(r.dateTime()));
  if (bit(flags, 2)) {
    const type = r.u8();
    b.meta("site", SITES[type] || `type-${type}`);
  }
  return b.build();
}

export const driver: DriverDefinition = {
  id: "ble-thermometer",
  description: "Bluetooth Health Thermometer profile (service 0x1809)",
  matcher: { transport: "ble", services: ["1809"], characteristics: ["2a1c"] },
  decode: (frame) => decodeTemperature(frame),
};
