import { readFileSync } from "node:fs";
import { parseDocument } from "yaml";
import { driverById } from "../../../drivers/index.js";
import { parseConfig } from "../../config/load.js";
import { HubError, messageOf } from "../../core/errors.js";
import { writeFileAtomic } from "../../core/secrets.js";
import { handOver } from "../../ops/privileges.js";
import { parseUserSlots } from "../../ops/provision/validate.js";
import { describeReload, tellRunningAgent } from "../../ops/reload-notice.js";
import { serviceAccount } from "../../ops/users.js";
import { documentText, editInPlace } from "../../ops/yaml-edit.js";
import { type Command, parse, requireOption } from "../io.js";

type Raw = Record<string, unknown>;

export const devicesPair: Command = {
  name: "devices pair",
  usage:
    "pkb-hub devices pair ID --config FILE [--driver D] [--patient P | --user-slots 1=P,2=Q] [--serial-path PATH | --ble-address ADDR] [--no-reload]",
  summary:
    "bind a device to a patient in the config (every other setting of the device kept; validated; 0600) and tell a running agent",
  async run(args, io) {
    const { values, positionals } = parse(
      args,
      {
        driver: { type: "string" },
        patient: { type: "string" },
        "user-slots": { type: "string" },
        config: { type: "string", short: "c" },
        "serial-path": { type: "string" },
        "ble-address": { type: "string" },
        "no-reload": { type: "boolean", default: false },
      },
      true,
    );
    const id = positionals[0];
    if (!id || positionals.length > 1) throw new HubError("USAGE", "give exactly one device ID");
    const file = requireOption(values.config, "--config FILE");
    if (values.patient !== undefined && values["user-slots"] !== undefined)
      throw new HubError("USAGE", "give --patient or --user-slots, not both");
    if (values["serial-path"] !== undefined && values["ble-address"] !== undefined)
      throw new HubError("USAGE", "give --serial-path or --ble-address, not both");
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      throw new HubError("CONFIG_NOT_FOUND", `cannot read config ${file}: ${messageOf(err)}`, { cause: err });
    }
    const doc = parseDocument(text);
    const raw = (doc.toJS() ?? {}) as Raw & { devices?: Raw[]; patients?: Raw[] };
    const devices = [...(raw.devices ?? [])];
    const at = devices.findIndex((d) => d.id === id);
    // An existing device keeps everything not given here: simulate, options, slots, expected interval.
    const entry: Raw = at === -1 ? { id } : { ...devices[at] };
    if (values.driver !== undefined) entry.driver = values.driver;
    if (entry.driver === undefined) throw new HubError("USAGE", `device ${id} is new: give its --driver`);
    if (values.patient !== undefined) {
      entry.patient = values.patient;
      delete entry.userSlots;
    }
    if (values["user-slots"] !== undefined) {
      const keys = (raw.patients ?? []).map((p) => String(p.key));
      const slots = parseUserSlots(values["user-slots"], keys);
      if (typeof slots === "string") throw new HubError("USAGE", `--user-slots: ${slots}`);
      entry.userSlots = slots;
      delete entry.patient;
    }
    if (values["serial-path"] !== undefined) {
      entry.serialPath = values["serial-path"];
      delete entry.bleAddress;
    }
    if (values["ble-address"] !== undefined) {
      entry.bleAddress = values["ble-address"];
      delete entry.serialPath;
    }
    if (at === -1) devices.push(entry);
    else devices[at] = entry;
    // The whole resulting configuration is validated before the file is touched.
    const config = parseConfig({ ...raw, devices }, file);
    // Only what changed is edited: comments and the layout of everything else stay.
    editInPlace(doc, ["devices"], raw.devices ?? [], devices);
    writeFileAtomic(file, documentText(doc));
    handOver(serviceAccount(config.hub), file);
    const device = config.devices.find((d) => d.id === id);
    const bound = device?.userSlots
      ? `user slots ${Object.entries(device.userSlots)
          .map(([s, k]) => `${s}=${k}`)
          .join(", ")}`
      : `patient ${device?.patient}`;
    io.out(
      `${at === -1 ? "added" : "updated"} device ${id} (${String(entry.driver)}) bound to ${bound} in ${file}`,
    );
    io.out("  this changes the configuration only: nothing was sent to the device");
    const ble = driverById(String(entry.driver)).matcher.transport === "ble";
    if (ble && !device?.simulate)
      io.out(
        `  Bluetooth: the hub connects when the device advertises (after a measurement). If the device shows a PIN or asks to pair, bond it once: bluetoothctl, then 'pair ${device?.bleAddress ?? "<address>"}' and 'trust ${device?.bleAddress ?? "<address>"}'`,
      );
    if (!values["no-reload"]) io.out(`  ${describeReload(await tellRunningAgent(config), file)}`);
    return 0;
  },
};
