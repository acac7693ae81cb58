import { DraftBuilder } from "../draft.js";
import { bit, knownTime, Reader } from "../ieee11073.js";
import type { DriverDefinition } from "../types.js";

/** Weight Measurement (0x2A9D): flags, weight uint16 (0.005 kg or 0.01 lb), [time], [user], [BMI, height]. */
export function decodeWeight(frame: Uint8Array) {
  const r = new Reader(frame, "weight measurement");
  const flags = r.u8();
  const imperial = bit(flags, 0);
  const raw = r.u16();
  const b = new DraftBuilder("weight");
  if (raw === 0xffff) {
    return []; // "measurement unsuccessful": the scale says so itself; nothing to store
  }
  b.add(
    "body-weight",
    imperial ? Math.round(raw) / 100 : Math.round(raw * 5) / 1000,
    imperial ? "[lb_av]" : "kg",
  );
  if (bit(flags, 1)) b.time(knownTime(r.dateTime()));
  if (bit(flags, 2)) {
    const user = r.u8();
    if (user !== 0xff) b.userSlot(user);
  }
  if (bit(flags, 3)) {
    b.meta("bmi", r.u16() / 10);
    const height = r.u16();
    b.meta(imperial ? "heightIn" : "heightM", imperial ? height / 10 : height / 1000);
  }
  return b.build();
}

export const driver: DriverDefinition = {
  id: "ble-weight-scale",
  description: "Bluetooth Weight Scale profile (service 0x181D)",
  matcher: { transport: "ble", services: ["181d"], characteristics: ["2a9d"] },
  decode: (frame) => decodeWeight(frame),
};
