import { byCharacteristic } from "../characteristic.js";
import { DraftBuilder } from "../draft.js";
import { bit, knownTime, Reader } from "../ieee11073.js";
import type { DriverDefinition } from "../types.js";

export const TEMPERATURE_MEASUREMENT = "2a1c";

/** Temperature Type (uint8): 0 and 10-255 reserved. */
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

/** Flag bits 3-7 are reserved for future use. */
const RESERVED_FLAGS = 0xf8;

/** Temperature Measurement (0x2A1C): flags, FLOAT, [time], [type]. */
export function decodeTemperature(frame: Uint8Array) {
  const r = new Reader(frame, "temperature measurement");
  const flags = r.u8();
  const b = new DraftBuilder("temperature").add(
    "body-temperature",
    r.float(),
    bit(flags, 0) ? "[degF]" : "Cel",
  );
  if (bit(flags, 1)) {
    const t = r.dateTime();
    b.sentTime(t).time(knownTime(t));
  }
  if (bit(flags, 2)) {
    const type = r.u8();
    b.meta("site", SITES[type] || `type-${type}`);
  }
  r.end(flags, RESERVED_FLAGS);
  return b.build();
}

export const driver: DriverDefinition = {
  id: "ble-thermometer",
  description: "Bluetooth Health Thermometer profile (service 0x1809)",
  matcher: { transport: "ble", services: ["1809"], characteristics: [TEMPERATURE_MEASUREMENT] },
  decode: byCharacteristic("thermometer", { [TEMPERATURE_MEASUREMENT]: decodeTemperature }),
};
