import { driverById } from "../../../drivers/index.js";
import { FakeClock } from "../../core/clock.js";
import { HubError } from "../../core/errors.js";
import { finishReading } from "../../core/finish.js";
import { isValidTimeZone } from "../../core/time.js";
import { type Command, parse, requireOption } from "../io.js";

function bytesOf(hex: string): Uint8Array {
  const clean = hex.replace(/[\s:,-]/g, "").replace(/^0x/i, "");
  if (clean.length === 0 || clean.length % 2 !== 0 || !/^[0-9a-f]+$/i.test(clean)) {
    throw new HubError("USAGE", "--hex must be an even number of hex digits (spaces and colons allowed)");
  }
  return Uint8Array.from(clean.match(/../g) ?? [], (b) => Number.parseInt(b, 16));
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
    const characteristic = values.characteristic?.toLowerCase().replace(/^0x/, "");
    const drafts = driver.decode(frame, characteristic);
    const clock = new FakeClock(Date.now(), true);
    const readings = drafts.map((draft) =>
      finishReading(draft, {
        deviceId: "decode",
        driver: driver.id,
        patient: "decode",
        timeZone,
        clock,
        receivedAtMs: clock.nowMs(),
      }),
    );
    if (values.json) {
      io.out(
        JSON.stringify(
          readings.map((r) => ({
            kind: r.kind,
            components: r.components.map((c) => ({ code: c.code, id: c.id, value: c.value, unit: c.unit })),
            measuredAt: r.measuredAt,
            timeSource: r.timeSource,
            flags: r.flags,
            meta: r.meta,
          })),
          null,
          2,
        ),
      );
      return 0;
    }
    if (readings.length === 0)
      io.out("no reading in this frame (e.g. control solution, special values, sensor off)");
    for (const r of readings) {
      io.out(`${r.kind} at ${r.measuredAt} (${r.timeSource})`);
      for (const c of r.components) io.out(`  ${c.id} ${c.value} ${c.unit}  [LOINC ${c.code}]`);
      if (r.flags.length > 0) io.out(`  flags: ${r.flags.join(", ")}`);
    }
    return 0;
  },
};
