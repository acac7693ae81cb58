import { HubError } from "../src/core/errors.js";

/** Battery Service and its Battery Level characteristic (Bluetooth SIG assigned numbers). */
export const BATTERY_SERVICE = "180f";
export const BATTERY_LEVEL = "2a19";

/**
 * Battery Level (0x2A19): one uint8, the charge in percent, 0–100 (BAS 1.0 §3.1). Any other length
 * or a value above 100 is refused. A device status, not a reading: it goes to health, never to PKB.
 */
export function decodeBatteryLevel(bytes: Uint8Array): number {
  if (bytes.length === 0) throw new HubError("FRAME_SHORT", "battery level: no byte");
  if (bytes.length > 1) throw new HubError("FRAME_MALFORMED", `battery level: ${bytes.length} bytes, not 1`);
  const percent = bytes[0] as number;
  if (percent > 100) throw new HubError("FRAME_MALFORMED", "battery level above 100 %");
  return percent;
}
