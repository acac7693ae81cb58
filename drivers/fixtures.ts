import { fixtures as bloodPressure } from "./ble-blood-pressure/fixtures.js";
import { fixtures as glucose } from "./ble-glucose/fixtures.js";
import { fixtures as heartRate } from "./ble-heart-rate/fixtures.js";
import { fixtures as pulseOximeter } from "./ble-pulse-oximeter/fixtures.js";
import { fixtures as thermometer } from "./ble-thermometer/fixtures.js";
import { fixtures as weightScale } from "./ble-weight-scale/fixtures.js";
import { fixtures as contour } from "./contour-serial/fixtures.js";
import type { Fixture } from "./fixture-types.js";
import { fixtures as nonin } from "./nonin-serial/fixtures.js";

/** Byte vectors per driver id; the registry test requires every driver to have some. */
export const FIXTURES: Readonly<Record<string, Fixture[]>> = {
  "ble-blood-pressure": bloodPressure,
  "ble-thermometer": thermometer,
  "ble-glucose": glucose,
  "ble-weight-scale": weightScale,
  "ble-pulse-oximeter": pulseOximeter,
  "ble-heart-rate": heartRate,
  "nonin-serial": nonin,
  "contour-serial": contour,
};

export function hexBytes(hex: string): Uint8Array {
  const clean = hex.replace(/[\s|]+/g, ""); // spaces and `|` separate commented fields
  return Uint8Array.from(clean.match(/../g) ?? [], (b) => Number.parseInt(b, 16));
}
