import { byCharacteristic } from "../characteristic.js";
import { DraftBuilder } from "../draft.js";
import { bit, knownTime, Reader } from "../ieee11073.js";
import type { DriverDefinition } from "../types.js";

export const BLOOD_PRESSURE_MEASUREMENT = "2a35";
/** Flag bits 5-7 are reserved for future use. */
const RESERVED_FLAGS = 0xe0;

/** Blood Pressure Measurement (0x2A35): flags, sys/dia/MAP SFLOAT, [time], [pulse], [user], [status]. */
export function decodeBloodPressure(frame: Uint8Array) {
  const r = new Reader(frame, "blood pressure measurement");
  const flags = r.u8();
  const unit = bit(flags, 0) ? "kPa" : "mm[Hg]";
  const b = new DraftBuilder("blood-pressure")
    .add("bp-systolic", r.sfloat(), unit)
    .add("bp-diastolic", r.sfloat(), unit)
    .add("bp-mean", r.sfloat(), unit);
  if (bit(flags, 1)) {
    const t = r.dateTime();
    b.sentTime(t).time(knownTime(t));
  }
  if (bit(flags, 2)) b.add("pulse-rate", r.sfloat(), "/min");
  if (bit(flags, 3)) {
    const user = r.u8();
    if (user !== 0xff) b.userSlot(user);
  }
  if (bit(flags, 4)) {
    const status = r.u16();
    if (bit(status, 0)) b.flag("body-movement");
    if (bit(status, 1)) b.flag("cuff-fit-loose");
    if (bit(status, 2)) b.flag("irregular-pulse");
    const range = (status >> 3) & 0x3;
    if (range === 1) b.flag("pulse-rate-above-range");
    if (range === 2) b.flag("pulse-rate-below-range");
    if (bit(status, 5)) b.flag("improper-measurement-position");
  }
  r.end(flags, RESERVED_FLAGS);
  return b.build();
}

export const driver: DriverDefinition = {
  id: "ble-blood-pressure",
  description: "Bluetooth Blood Pressure profile (service 0x1810)",
  matcher: { transport: "ble", services: ["1810"], characteristics: [BLOOD_PRESSURE_MEASUREMENT] },
  decode: byCharacteristic("blood pressure", { [BLOOD_PRESSURE_MEASUREMENT]: decodeBloodPressure }),
};
