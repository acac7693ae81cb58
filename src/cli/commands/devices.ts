import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { SerialPort } from "serialport";
import { parseDocument } from "yaml";
import { DRIVERS } from "../../../drivers/index.js";
import { parseConfig } from "../../config/load.js";
import { HubError, isHubError, messageOf } from "../../core/errors.js";
import { loadNoble } from "../../transport/ble.js";
import type { NoblePeripheral } from "../../transport/ble-types.js";
import { type Command, parse, requireOption } from "../io.js";

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

export const devicesPair: Command = {
  name: "devices pair",
  usage:
    "pkb-hub devices pair ID --driver D --patient P --config FILE [--serial-path PATH | --ble-address ADDR]",
  summary: "bind a device to a patient in the config file (validated before it is written, 0600)",
  async run(args, io) {
    const { values, positionals } = parse(
      args,
      {
        driver: { type: "string" },
        patient: { type: "string" },
        config: { type: "string", short: "c" },
        "serial-path": { type: "string" },
        "ble-address": { type: "string" },
      },
      true,
    );
    const id = positionals[0];
    if (!id || positionals.length > 1) throw new HubError("USAGE", "give exactly one device ID");
    const file = requireOption(values.config, "--config FILE");
    const entry: Record<string, string> = {
      id,
      driver: requireOption(values.driver, "--driver D"),
      patient: requireOption(values.patient, "--patient P"),
    };
    if (values["serial-path"]) entry.serialPath = values["serial-path"];
    if (values["ble-address"]) entry.bleAddress = values["ble-address"];
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      throw new HubError("CONFIG_NOT_FOUND", `cannot read config ${file}: ${messageOf(err)}`, { cause: err });
    }
    const doc = parseDocument(text);
    const raw = (doc.toJS() ?? {}) as { devices?: Array<Record<string, unknown>> };
    const devices = (raw.devices ?? []).filter((d) => d.id !== id);
    const replaced = devices.length !== (raw.devices ?? []).length;
    devices.push(entry);
    // Validate the whole resulting configuration before touching the file: a bad pairing changes nothing.
    parseConfig({ ...raw, devices }, file);
    doc.set("devices", devices);
    const tmp = `${file}.tmp-${process.pid}`;
    writeFileSync(tmp, doc.toString(), { mode: 0o600 });
    renameSync(tmp, file);
    io.out(
      `${replaced ? "re-paired" : "paired"} device ${id} (${entry.driver}) with patient ${entry.patient} in ${file}`,
    );
    return 0;
  },
};
