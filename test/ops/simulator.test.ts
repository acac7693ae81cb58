import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { SerialPort } from "serialport";
import { afterAll, describe, expect, it } from "vitest";
import { ACK, ENQ, EOT } from "../../drivers/contour-serial/astm.js";
import { runContourMeter } from "../../scripts/simulators/contour.js";
import { oximeterOutlook } from "../../scripts/simulators/nonin.js";
import { startPtyPair } from "../../scripts/simulators/socat.js";
import { Agent } from "../../src/agent/agent.js";
import { parseConfig } from "../../src/config/load.js";
import { createLogger } from "../../src/core/log.js";
import { tempDir } from "../support/tmp.js";
import { until } from "../support/wait.js";

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** One download from the simulated meter at `nowMs`, read raw on the hub's end: the result records it sent. */
async function download(name: string, nowMs: number, memoryFile?: string): Promise<string[]> {
  const pty = await startPtyPair(join(tmp.dir, `${name}-dev`), join(tmp.dir, `${name}-hub`));
  const port = new SerialPort({ path: pty.hubEnd, baudRate: 9600 });
  let text = "";
  const done = new Promise<void>((resolve) =>
    port.on("data", (chunk: Buffer) => {
      text += chunk.toString("latin1");
      // ACK the ENQ and every frame (a frame ends with CR LF); the meter ends with EOT.
      if (chunk.includes(EOT)) return resolve();
      if (chunk.includes(ENQ) || chunk.includes(0x0a)) port.write(Buffer.of(ACK));
    }),
  );
  try {
    const result = await runContourMeter({
      path: pty.deviceEnd,
      records: 4,
      now: () => nowMs,
      ackTimeoutMs: 2000,
      ...(memoryFile ? { memoryFile } : {}),
    });
    await done;
    expect(result.acked).toBe(4);
  } finally {
    await new Promise<void>((resolve) => port.close(() => resolve()));
    await pty.stop();
  }
  return text.match(/R\|[^\r]*/g) ?? [];
}

describe("simulated Contour meter", () => {
  it("keeps a fixed memory: a download two hours later sends the very same records (so the hub can recognise them)", async () => {
    const memory = join(tmp.dir, "meter-memory.json");
    const t0 = Date.UTC(2026, 10, 20, 9, 0);
    const first = await download("a", t0, memory);
    const later = await download("b", t0 + 2 * 3_600_000, memory);
    expect(first).toHaveLength(4);
    expect(later).toEqual(first);
    // Without a memory the simulator re-stamps its records from its clock: new records every run.
    const unremembered = await download("c", t0 + 2 * 3_600_000);
    expect(unremembered).not.toEqual(first);
  });
});

describe("simulated Nonin oximeter", () => {
  it("a simulated oximeter that cannot produce a reading says why, before and after its stream", async () => {
    const lines: string[] = [];
    const secretFile = join(tmp.dir, "secret");
    writeFileSync(secretFile, "s", { mode: 0o600 });
    const config = parseConfig({
      hub: { id: "h", timeZone: "UTC", dataDir: join(tmp.dir, "ox") },
      clock: { mode: "assume-synced" },
      patients: [{ key: "p1", route: "pkb-rest" }],
      routes: { pkbRest: { baseUrl: "http://127.0.0.1:9", clientId: "c", clientSecretFile: secretFile } },
      devices: [
        {
          id: "ox",
          driver: "nonin-serial",
          patient: "p1",
          simulate: true,
          options: { packets: 5, packetsPerSec: 50 },
        },
      ],
    });
    const logger = createLogger({ level: "info", destination: { write: (l: string) => lines.push(l) } });
    const agent = new Agent({ config, logger });
    await agent.start();
    let unsent: number;
    try {
      await until(() => lines.some((l) => l.includes("stopped streaming")));
      unsent = agent.ctx.buffer.stats().unsent;
    } finally {
      await agent.stop();
    }
    const why =
      "no reading: 5 packet(s) are fewer than the 10 samples one reading needs (condenseWindowSec=60, condenseMinSamples=10); set options.packets ≥ 10";
    const said = lines
      .map((l) => JSON.parse(l) as { level: number; msg: string })
      .filter((l) => l.msg.includes(why));
    expect(said.map((l) => [l.level, l.msg])).toEqual([
      [40, `simulated oximeter streaming: ${why}`],
      [40, `simulated oximeter stopped streaming: ${why}`],
    ]);
    expect(unsent).toBe(0);
  });

  it("explains each way a stream gives no reading, or when its reading comes", () => {
    const o = { packets: 600, packetsPerSec: 3, windowSec: 60, minSamples: 10 };
    expect(oximeterOutlook(o)).toEqual({
      readings: true,
      text: "about 3 reading(s) while it streams, one per 60 s window, and one more when the device stops if the last window holds 10 samples",
    });
    expect(oximeterOutlook({ ...o, packetsPerSec: 0.1, packets: 60 })).toEqual({
      readings: false,
      text: "no reading: at 0.1 packet(s)/s a 60 s window holds 6 sample(s), fewer than 10 (condenseWindowSec=60, condenseMinSamples=10); raise packetsPerSec or condenseWindowSec, or lower condenseMinSamples",
    });
    expect(oximeterOutlook({ ...o, packets: 30 })).toEqual({
      readings: true,
      text: "one reading, stored when the device stops: the 10 s stream ends inside the first 60 s window (condenseWindowSec=60, condenseMinSamples=10); set options.packets ≥ 181 for readings while it streams",
    });
  });
});
