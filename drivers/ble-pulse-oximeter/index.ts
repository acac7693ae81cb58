import { byCharacteristic } from "../characteristic.js";
import { DraftBuilder } from "../draft.js";
import { bit, knownTime, Reader } from "../ieee11073.js";
import type { DriverDefinition } from "../types.js";

export const PLX_SPOT_CHECK = "2a5e";
export const PLX_CONTINUOUS = "2a5f";

/** Flag bits 5-7 of both PLX measurements are reserved for future use. */
const RESERVED_FLAGS = 0xe0;

/**
 * Measurement Status (uint16, PLXS 1.0 §3.1.1.3 / GATT Specification Supplement), bits 0-4 reserved:
 * 5 measurement ongoing, 6 early estimated data, 7 validated data, 8 fully qualified data, 9 data from
 * measurement storage, 10 data for demonstration, 11 data for testing, 12 calibration ongoing,
 * 13 measurement unavailable, 14 questionable measurement detected, 15 invalid measurement detected.
 * Validated / fully qualified / from storage say nothing a clinician must know.
 */
const STATUS_FLAGS: ReadonlyArray<[bit: number, flag: string]> = [
  [5, "measurement-ongoing"],
  [6, "early-estimate"],
  [12, "calibration-ongoing"],
  [14, "questionable-measurement"],
];
/** Demonstration or test data is not the patient's; unavailable or invalid is no measurement. */
const STATUS_NOT_A_READING = [10, 11, 13, 15];

/**
 * Device and Sensor Status (uint24), bits 16-23 reserved: 0 extended display update ongoing,
 * 1 equipment malfunction, 2 signal processing irregularity, 3 inadequate signal, 4 poor signal,
 * 5 low perfusion, 6 erratic signal, 7 nonpulsatile signal, 8 questionable pulse, 9 signal analysis
 * ongoing, 10 sensor interference, 11 sensor unconnected to user, 12 unknown sensor connected,
 * 13 sensor displaced, 14 sensor malfunctioning, 15 sensor disconnected.
 */
const DEVICE_FLAGS: ReadonlyArray<[bit: number, flag: string]> = [
  [1, "equipment-malfunction"],
  [2, "signal-processing-irregularity"],
  [3, "inadequate-signal"],
  [4, "poor-signal"],
  [5, "low-perfusion"],
  [6, "erratic-signal"],
  [7, "nonpulsatile-signal"],
  [8, "questionable-pulse"],
  [10, "sensor-interference"],
  [12, "unknown-sensor"],
  [13, "sensor-displaced"],
  [14, "sensor-malfunction"],
];
/** A sensor not on the patient measured nothing of the patient. */
const DEVICE_NOT_A_READING = [11, 15];

/** Applies a status word: flags to carry, or false when the values are not a patient's reading. */
function applyStatus(
  b: DraftBuilder,
  word: number,
  flags: ReadonlyArray<[number, string]>,
  refuse: number[],
): boolean {
  for (const [n, flag] of flags) if (bit(word, n)) b.flag(flag);
  return !refuse.some((n) => bit(word, n));
}

/** Measurement status, device and sensor status and pulse amplitude index, common to both characteristics. */
function readStatusFields(
  r: Reader,
  b: DraftBuilder,
  present: { status: boolean; device: boolean; pai: boolean },
): boolean {
  let usable = true;
  if (present.status && !applyStatus(b, r.u16(), STATUS_FLAGS, STATUS_NOT_A_READING)) usable = false;
  if (present.device && !applyStatus(b, r.u24(), DEVICE_FLAGS, DEVICE_NOT_A_READING)) usable = false;
  if (present.pai) r.sfloat(); // pulse amplitude index (%): a signal-quality figure, not a reading
  return usable;
}

/**
 * PLX Spot-check Measurement (0x2A5E): flags (bit0 time stamp, bit1 measurement status, bit2 device
 * and sensor status, bit3 pulse amplitude index, bit4 device clock not set), SpO2 and PR (SFLOAT),
 * then the optional fields in that order.
 */
export function decodeSpotCheck(frame: Uint8Array) {
  const r = new Reader(frame, "PLX spot-check measurement");
  const flags = r.u8();
  const b = new DraftBuilder("spo2").add("spo2", r.sfloat(), "%").add("pulse-rate", r.sfloat(), "/min");
  if (bit(flags, 0)) {
    const t = r.dateTime();
    b.sentTime(t);
    // "Device clock not set": the time stamp is junk; the hub's time is used instead.
    if (bit(flags, 4)) b.flag("device-clock-not-set");
    else b.time(knownTime(t));
  }
  const usable = readStatusFields(r, b, { status: bit(flags, 1), device: bit(flags, 2), pai: bit(flags, 3) });
  r.end(flags, RESERVED_FLAGS);
  return usable ? b.build() : [];
}

/**
 * PLX Continuous Measurement (0x2A5F): flags (bit0 SpO2PR-Fast, bit1 SpO2PR-Slow, bit2 measurement
 * status, bit3 device and sensor status, bit4 pulse amplitude index), SpO2PR-Normal, then the optional
 * fields in that order — a stream sample; only the Normal pair is a reading.
 */
export function decodeContinuous(frame: Uint8Array) {
  const r = new Reader(frame, "PLX continuous measurement");
  const flags = r.u8();
  const b = new DraftBuilder("spo2").add("spo2", r.sfloat(), "%").add("pulse-rate", r.sfloat(), "/min");
  if (bit(flags, 0)) r.skip(4); // SpO2PR-Fast
  if (bit(flags, 1)) r.skip(4); // SpO2PR-Slow
  const usable = readStatusFields(r, b, { status: bit(flags, 2), device: bit(flags, 3), pai: bit(flags, 4) });
  r.end(flags, RESERVED_FLAGS);
  return usable ? b.build() : [];
}

export const driver: DriverDefinition = {
  id: "ble-pulse-oximeter",
  description: "Bluetooth Pulse Oximeter profile (service 0x1822), spot-check and continuous",
  matcher: {
    transport: "ble",
    services: ["1822"],
    characteristics: [PLX_SPOT_CHECK, PLX_CONTINUOUS],
    streams: [PLX_CONTINUOUS], // spot-checks are readings as they come
  },
  decode: byCharacteristic("pulse oximeter", {
    [PLX_SPOT_CHECK]: decodeSpotCheck,
    [PLX_CONTINUOUS]: decodeContinuous,
  }),
};
