import { SerialPort } from "serialport";
import type { DriverDefinition } from "../../drivers/types.js";
import { HubError } from "../core/errors.js";

export type PortLister = () => Promise<
  Array<{
    path: string;
    vendorId?: string | undefined;
    productId?: string | undefined;
    pnpId?: string | undefined;
  }>
>;

/**
 * Hot-plug discovery: the stable path of the first port whose USB ids match the driver
 * (/dev/serial/by-id/… when udev provides it). Used when a device has no configured serialPath.
 */
export async function findSerialPort(
  driver: DriverDefinition,
  list: PortLister = () => SerialPort.list(),
): Promise<string> {
  if (driver.matcher.transport !== "serial")
    throw new HubError("INTERNAL", `${driver.id} is not a serial driver`);
  const wanted = driver.matcher.usb;
  for (const p of await list()) {
    const vid = p.vendorId?.toLowerCase();
    const pid = p.productId?.toLowerCase();
    if (wanted.some((u) => u.vendorId === vid && (u.productId === undefined || u.productId === pid))) {
      return p.pnpId ? `/dev/serial/by-id/${p.pnpId}` : p.path;
    }
  }
  throw new HubError("TRANSPORT_OPEN_FAILED", `no USB device for ${driver.id} is plugged in`);
}
