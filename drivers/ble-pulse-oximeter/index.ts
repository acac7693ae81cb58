import { HubError } from "../../src/core/errors.js";
import { DraftBuilder } from "../draft.js";
import { bit, knownTime, Reader } from "../ieee11073.js";
import type { DriverDefinition } from "../types.js";

export const PLX_SPOT_CHECK = "2a5e";
export const PLX_CONTINUOUS = "2a5f";

/** PLX Spot-check Measurement (0x2A5E): flags, SpO2, PR, [time], [status], [device status], [PAI]. */
export function decodeSpotCheck(frame: Uint8Array) {
  const r = new Reader(frame, "PLX spot-check measurement");
  const flags = r.u8();
  const b = new DraftBuilder("spo2").add("spo2", r.sfloat(), "%").add("pulse-rate", r.sfloat(), "/min");
  if (bit(flags, 0)) {
    const t = r.dateTime();
    // "Device clock not set": the time stamp is junk; the hub's time is used instead.
    if (bit(flags, 4)) b.flag("device-clock-not-set");
    else b.time(knownTime(t));
  }
  if (bit(flags, 1)) {
    const status = r.u16();
    if (bit(status, 5)) b.flag("measurement-ongoing");
    if (bit(status, 8)) b.flag("questionable-measurement");
  }
  if (bit(flags, 2)) r.skip(3);
  return b.build();
}

/** PLX Continuous Measurement (0x2A5F): flags, SpO2PR-Normal, then optional pairs — a stream sample. */
export function decodeContinuous(frame: Uint8Array) {
  const r = new Reader(frame, "PLX continuous measurement");
  r.u8();
  return new DraftBuilder("spo2").add("spo2", r.sfloat(), "%").add("pulse-rate", r.sfloat(), "/min").build();
}

export const driver: DriverDefinition = {
  id: "ble-pulse-oximeter",
  description: "Bluetooth Pulse Oximeter profile (service 0x1822), spot-check and continuous",
  matcher: { transport: "ble", services: ["1822"], characteristics: [PLX_SPOT_CHECK, PLX_CONTINUOUS] },
  continuous: true,
  decode(frame, characteristic) {
    if (characteristic === PLX_SPOT_CHECK) return decodeSpotCheck(frame);
    if (characteristic === PLX_CONTINUOUS) return decodeContinuous(frame);
    throw new HubError(
      "FRAME_UNSUPPORTED",
      `pulse oximeter: characteristic ${characteristic ?? "(none)"} is not decoded`,
    );
  },
};
