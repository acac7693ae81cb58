import { HubError } from "../src/core/errors.js";
import { driver as bloodPressure } from "./ble-blood-pressure/index.js";
import { driver as glucose } from "./ble-glucose/index.js";
import { driver as heartRate } from "./ble-heart-rate/index.js";
import { driver as pulseOximeter } from "./ble-pulse-oximeter/index.js";
import { driver as thermometer } from "./ble-thermometer/index.js";
import { driver as weightScale } from "./ble-weight-scale/index.js";
import { driver as contour } from "./contour-serial/index.js";
import { driver as nonin } from "./nonin-serial/index.js";
import type { DriverDefinition } from "./types.js";

/** Every driver, by its fixed id (technicians and support use these ids). */
export const DRIVERS: readonly DriverDefinition[] = [
  bloodPressure,
  thermometer,
  glucose,
  weightScale,
  pulseOximeter,
  heartRate,
  nonin,
  contour,
];

export const DRIVER_IDS: readonly string[] = DRIVERS.map((d) => d.id);

export function driverById(id: string): DriverDefinition {
  const d = DRIVERS.find((x) => x.id === id);
  if (!d) throw new HubError("DRIVER_UNKNOWN", `unknown driver '${id}'; known: ${DRIVER_IDS.join(", ")}`);
  return d;
}

/**
 * The characteristic a captured frame is decoded as when none is named: a BLE driver that subscribes
 * to exactly one has an obvious one; a driver with several (pulse oximeter) has none and refuses.
 */
export function soleCharacteristic(driver: DriverDefinition): string | undefined {
  const m = driver.matcher;
  return m.transport === "ble" && m.characteristics.length === 1 ? m.characteristics[0] : undefined;
}

export type { DriverDefinition } from "./types.js";
