/**
 * A Contour-family meter on a serial port, as its own process (like the real device):
 *   node dist/scripts/simulators/contour-cli.js --path /tmp/meter --records 20 [--first-record-ms MS]
 *     [--frame-delay-ms 10] [--memory FILE]   (--memory: the same records on every run, like a real meter)
 * Prints `ACKED n` when the download finished.
 */
import { parseArgs } from "node:util";
import { runContourMeter } from "./contour.js";

const { values } = parseArgs({
  options: {
    path: { type: "string" },
    records: { type: "string", default: "10" },
    "first-record-ms": { type: "string" },
    "frame-delay-ms": { type: "string", default: "0" },
    memory: { type: "string" },
  },
});
if (!values.path) {
  process.stderr.write("usage: contour-cli --path DEVICE_END --records N\n");
  process.exit(2);
}
const result = await runContourMeter({
  path: values.path,
  records: Number(values.records),
  frameDelayMs: Number(values["frame-delay-ms"]),
  ...(values["first-record-ms"] ? { firstRecordMs: Number(values["first-record-ms"]) } : {}),
  ...(values.memory ? { memoryFile: values.memory } : {}),
});
process.stdout.write(`ACKED ${result.acked}\n`);
process.exit(0);
