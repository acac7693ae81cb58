import { SerialPort } from "serialport";
import { DRIVERS } from "../../../drivers/index.js";
import { HubError, isHubError, messageOf } from "../../core/errors.js";
import { loadNoble } from "../../transport/ble.js";
import type { NoblePeripheral } from "../../transport/ble-types.js";
import { type Command, parse } from "../io.js";

function usbDrivers(vendorId?: string, productId?: string): string[] {
  return DRIVERS.filter(
    (d) =>
      d.matcher.transport === "serial" &&
      d.matcher.usb.some(
        (u) =>
          u.vendorId === vendorId?.toLowerCase() &&
          (u.productId === undefined || u.productId === productId?.toLowerCase()),
      ),
  ).map((d) => d.id);
}

function bleDrivers(services: string[]): string[] {
  return DRIVERS.filter(
    (d) => d.matcher.transport === "ble" && d.matcher.services.some((s) => services.includes(s)),
  ).map((d) => d.id);
}

export const devicesScan: Command = {
  name: "devices scan",
  usage: "pkb-hub devices scan [--ble-seconds N]",
  summary: "list serial ports (USB ids, matching drivers) and BLE health devices advertising nearby",
  async run(args, io) {
    const { values } = parse(args, { "ble-seconds": { type: "string", default: "8" } });
    const seconds = Number(values["ble-seconds"]);
    if (!Number.isFinite(seconds) || seconds < 0 || seconds > 120)
      throw new HubError("USAGE", "--ble-seconds must be 0..120");
    let ports: Awaited<ReturnType<typeof SerialPort.list>> = [];
    try {
      ports = await SerialPort.list();
    } catch (err) {
      io.err(`serial ports cannot be listed (is udevadm installed?): ${messageOf(err)}`);
    }
    io.out(`serial ports: ${ports.length === 0 ? "none" : ""}`);
    for (const p of ports) {
      const stable = p.pnpId ? `/dev/serial/by-id/${p.pnpId}` : p.path;
      const drivers = usbDrivers(p.vendorId, p.productId);
      io.out(
        `  ${stable}  usb=${p.vendorId ?? "?"}:${p.productId ?? "?"}  drivers=${drivers.length ? drivers.join(",") : "none"}`,
      );
    }
    if (seconds === 0) return 0;
    try {
      const noble = await loadNoble();
      const services = [
        ...new Set(DRIVERS.flatMap((d) => (d.matcher.transport === "ble" ? d.matcher.services : []))),
      ];
      const seen = new Map<string, NoblePeripheral>();
      const onDiscover = (p: NoblePeripheral) => seen.set(p.address, p);
      noble.on("discover", onDiscover);
      await noble.startScanningAsync(services, false);
      await new Promise((r) => setTimeout(r, seconds * 1000));
      await noble.stopScanningAsync();
      noble.removeListener("discover", onDiscover);
      io.out(`BLE health devices: ${seen.size === 0 ? "none" : ""}`);
      for (const p of seen.values()) {
        const drivers = bleDrivers(p.advertisement.serviceUuids ?? []);
        io.out(
          `  ${p.address}  name=${p.advertisement.localName ?? "?"}  drivers=${drivers.join(",") || "none"}`,
        );
      }
    } catch (err) {
      if (!isHubError(err, "BLUETOOTH_UNAVAILABLE")) throw err;
      io.out(`BLE: ${err.message}`);
    }
    return 0;
  },
};
