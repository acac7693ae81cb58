import { byCharacteristic } from "../characteristic.js";
import { DraftBuilder } from "../draft.js";
import { bit, knownTime, Reader } from "../ieee11073.js";
import type { DriverDefinition } from "../types.js";

export const WEIGHT_MEASUREMENT = "2a9d";
/** Flag bits 4-7 are reserved for future use. */
const RESERVED_FLAGS = 0xf0;
/** Weight 0xFFFF: "measurement unsuccessful" — the scale says so itself. */
const UNSUCCESSFUL = 0xffff;
/** User index 0xFF: unknown user. */
const UNKNOWN_USER = 0xff;

/**
 * Weight Measurement (0x2A9D): flags (bit0 units SI/imperial, bit1 time stamp, bit2 user id, bit3 BMI
 * and height), weight uint16 (0.005 kg or 0.01 lb), [time], [user], [BMI uint16 0.1, height uint16
 * 0.001 m or 0.1 in]. The whole frame is checked before anything is decided from it.
 */
export function decodeWeight(frame: Uint8Array) {
  const r = new Reader(frame, "weight measurement");
  const flags = r.u8();
  const imperial = bit(flags, 0);
  const raw = r.u16();
  const b = new DraftBuilder("weight");
  if (raw !== UNSUCCESSFUL) {
    // Integer arithmetic on the raw resolution steps, so 14000 × 0.005 is exactly 70.
    b.add("body-weight", imperial ? raw / 100 : (raw * 5) / 1000, imperial ? "[lb_av]" : "kg");
  }
  if (bit(flags, 1)) {
    const t = r.dateTime();
    b.sentTime(t).time(knownTime(t));
  }
  if (bit(flags, 2)) {
    const user = r.u8();
    if (user !== UNKNOWN_USER) b.userSlot(user);
  }
  if (bit(flags, 3)) {
    b.meta("bmi", r.u16() / 10);
    const height = r.u16();
    b.meta(imperial ? "heightIn" : "heightM", imperial ? height / 10 : height / 1000);
  }
  r.end(flags, RESERVED_FLAGS);
  return b.build(); // no weight (unsuccessful): no reading
}

export const driver: DriverDefinition = {
  id: "ble-weight-scale",
  description: "Bluetooth Weight Scale profile (service 0x181D)",
  matcher: { transport: "ble", services: ["181d"], characteristics: [WEIGHT_MEASUREMENT] },
  decode: byCharacteristic("weight scale", { [WEIGHT_MEASUREMENT]: decodeWeight }),
};
