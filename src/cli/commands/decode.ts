import { driverById, soleCharacteristic } from "../../../drivers/index.js";
import type { DecodedDraft, DriverDefinition } from "../../../drivers/types.js";
import { FakeClock } from "../../core/clock.js";
import { HubError } from "../../core/errors.js";
import { finishReading } from "../../core/finish.js";
import type { Reading } from "../../core/reading.js";
import { isValidTimeZone } from "../../core/time.js";
import { type Command, parse, requireOption } from "../io.js";

function bytesOf(hex: string): Uint8Array {
  const clean = hex.replace(/[\s:,|-]/g, "").replace(/^0x/i, "");
  if (clean.length === 0 || clean.length % 2 !== 0 || !/^[0-9a-f]+$/i.test(clean)) {
    throw new HubError("USAGE", "--hex must be an even number of hex digits (spaces and colons allowed)");
  }
  return Uint8Array.from(clean.match(/../g) ?? [], (b) => Number.parseInt(b, 16));
}

/** The Bluetooth base UUID: a 16-bit characteristic written out in full. */
const BASE_UUID = /^0000([0-9a-f]{4})-0000-1000-8000-00805f9b34fb$/;

/**
 * Which characteristic the frame came from, in the short form the drivers use: `2A35`, `0x2a35` or
 * the full 128-bit UUID; none for a BLE driver with a single characteristic means that one.
 */
function characteristicOf(driver: DriverDefinition, given: string | undefined): string | undefined {
  if (driver.matcher.transport !== "ble") {
    if (given !== undefined)
      throw new HubError("USAGE", `${driver.id} is a serial driver: it takes no --characteristic`);
    return undefined;
  }
  if (given === undefined) {
    const sole = soleCharacteristic(driver);
    if (sole === undefined) {
      throw new HubError(
        "USAGE",
        `${driver.id} decodes several characteristics: name one with --characteristic (${driver.matcher.characteristics.join(", ")})`,
      );
    }
    return sole;
  }
  const lower = given.trim().toLowerCase().replace(/^0x/, "");
  const short = BASE_UUID.exec(lower)?.[1] ?? lower;
  if (!/^[0-9a-f]{4}$/.test(short)) {
    throw new HubError("USAGE", "--characteristic must be a 16-bit UUID such as 2A35 (or the full form)");
  }
  return short;
}

/** What the device sent, as support compares it with the device's screen. */
function sentOf(draft: DecodedDraft) {
  return {
    ...(draft.seq !== undefined ? { seq: draft.seq } : {}),
    ...(draft.sent.deviceTime !== undefined ? { deviceTime: draft.sent.deviceTime } : {}),
    ...(draft.sent.timeOffsetMinutes !== undefined
      ? { timeOffsetMinutes: draft.sent.timeOffsetMinutes }
      : {}),
    ...(draft.userSlot !== undefined ? { userSlot: draft.userSlot } : {}),
    values: draft.sent.values,
    ...(draft.sent.record !== undefined ? { record: draft.sent.record } : {}),
  };
}

function asJson(draft: DecodedDraft, r: Reading) {
  return {
    kind: r.kind,
    components: r.components.map((c) => ({ code: c.code, id: c.id, value: c.value, unit: c.unit })),
    measuredAt: r.measuredAt,
    timeSource: r.timeSource,
    flags: r.flags,
    meta: r.meta,
    sent: sentOf(draft),
    quarantined: r.quarantine !== undefined,
    ...(r.quarantine !== undefined ? { quarantine: r.quarantine } : {}),
  };
}

/** A HI/LO value is the device's limit: written `>600` / `<20` so nobody reads it as exact. */
function valueText(r: Reading, c: Reading["components"][number]): string {
  if (r.flags.includes(`above-measuring-range:${c.id}`))
    return `>${c.value} ${c.unit} (above the device's measuring range: not an exact value)`;
  if (r.flags.includes(`below-measuring-range:${c.id}`))
    return `<${c.value} ${c.unit} (below the device's measuring range: not an exact value)`;
  return `${c.value} ${c.unit}`;
}

function asText(draft: DecodedDraft, r: Reading): string[] {
  const lines = [`${r.kind} at ${r.measuredAt} (${r.timeSource})`];
  for (const c of r.components) lines.push(`  ${c.id} ${valueText(r, c)}  [LOINC ${c.code}]`);
  if (r.flags.length > 0) lines.push(`  flags: ${r.flags.join(", ")}`);
  const sent = draft.sent.values.map((v) => `${v.id} ${v.special ?? v.value} ${v.unit}`);
  if (draft.seq !== undefined) sent.push(`sequence ${draft.seq}`);
  if (draft.sent.deviceTime !== undefined) {
    const offset = draft.sent.timeOffsetMinutes;
    sent.push(
      `time ${draft.sent.deviceTime}${offset === undefined ? "" : ` ${offset < 0 ? "-" : "+"} ${Math.abs(offset)} min`}`,
    );
  }
  if (draft.userSlot !== undefined) sent.push(`user ${draft.userSlot}`);
  lines.push(`  sent by the device: ${sent.join("; ")}`);
  if (r.quarantine !== undefined) lines.push(`  QUARANTINED (stored, never forwarded): ${r.quarantine}`);
  return lines;
}

export const decode: Command = {
  name: "decode",
  usage: 'pkb-hub decode --driver ID [--characteristic UUID] --hex "..." [--json] [--time-zone TZ]',
  summary: "decode a captured frame with a driver and print the readings (for support)",
  async run(args, io) {
    const { values } = parse(args, {
      driver: { type: "string" },
      characteristic: { type: "string" },
      hex: { type: "string" },
      json: { type: "boolean" },
      "time-zone": { type: "string", default: "Europe/London" },
    });
    const timeZone = values["time-zone"] ?? "Europe/London";
    if (!isValidTimeZone(timeZone))
      throw new HubError("USAGE", `--time-zone: unknown IANA time zone '${timeZone}' (e.g. Europe/London)`);
    const driver = driverById(requireOption(values.driver, "--driver ID"));
    const frame = bytesOf(requireOption(values.hex, '--hex "..."'));
    const characteristic = characteristicOf(driver, values.characteristic);
    const drafts = driver.decode(frame, characteristic);
    const clock = new FakeClock(Date.now(), true);
    const decoded = drafts.map((draft) => ({
      draft,
      reading: finishReading(draft, {
        deviceId: "decode",
        driver: driver.id,
        patient: "decode",
        timeZone,
        clock,
        receivedAtMs: clock.nowMs(),
      }),
    }));
    if (values.json) {
      io.out(
        JSON.stringify(
          decoded.map(({ draft, reading }) => asJson(draft, reading)),
          null,
          2,
        ),
      );
      return 0;
    }
    if (decoded.length === 0)
      io.out("no reading in this frame (e.g. control solution, special values, sensor off)");
    for (const { draft, reading } of decoded) for (const line of asText(draft, reading)) io.out(line);
    return 0;
  },
};
