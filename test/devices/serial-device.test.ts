import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { driverById } from "../../drivers/index.js";
import { runContourMeter } from "../../scripts/simulators/contour.js";
import { type PtyPair, startPtyPair } from "../../scripts/simulators/socat.js";
import type { AgentContext } from "../../src/agent/context.js";
import { SerialDevice } from "../../src/agent/device-serial.js";
import type { HubBuffer } from "../../src/buffer/buffer.js";
import { parseConfig } from "../../src/config/load.js";
import { FakeClock } from "../../src/core/clock.js";
import { silentLogger } from "../../src/core/log.js";
import { SerialTransport } from "../../src/transport/serial.js";
import { makeBuffer } from "../support/buffer.js";
import { tempDir } from "../support/tmp.js";
import { until } from "../support/wait.js";

const METER_CLI = join(import.meta.dirname, "../../dist/scripts/simulators/contour-cli.js");
let tmp: ReturnType<typeof tempDir>;
let buffer: HubBuffer;
let pty: PtyPair | undefined;
let device: SerialDevice | undefined;

beforeEach(() => {
  tmp = tempDir();
  ({ buffer } = makeBuffer(join(tmp.dir, "data"), { clock: new FakeClock(Date.now()) }));
});
afterEach(async () => {
  await device?.stop();
  await pty?.stop();
  buffer.close();
  tmp.cleanup();
});

describe("serial glucose meter through a real pseudo-terminal", () => {
  it("downloads every record once, across an unplug mid-download and a replug", async () => {
    const devEnd = join(tmp.dir, "meter");
    const hubEnd = join(tmp.dir, "hub");
    pty = await startPtyPair(devEnd, hubEnd);
    const driver = driverById("contour-serial");
    const config = parseConfig({ hub: { id: "h", timeZone: "UTC", dataDir: tmp.dir } });
    const ctx: AgentContext = {
      config,
      buffer,
      clock: new FakeClock(Date.now()),
      logger: silentLogger(),
      dataDir: tmp.dir,
      fetch,
      pokeRoutes: () => {},
    };
    const deviceConfig = { id: "meter", driver: driver.id, patient: "p1", simulate: false, options: {} };
    device = new SerialDevice(
      ctx,
      deviceConfig,
      driver,
      new SerialTransport({
        path: hubEnd,
        settings: driver.serial ?? { baudRate: 9600, dataBits: 8, parity: "none", stopBits: 1 },
      }),
      { baseMs: 50, maxMs: 200 },
    );
    await device.start();
    const firstRecordMs = Date.UTC(2026, 10, 20, 8, 0);
    const stored = () => buffer.stats().byState.pending;

    // First download: 10 records.
    expect(
      (await runContourMeter({ path: devEnd, records: 10, firstRecordMs, ackTimeoutMs: 1000 })).acked,
    ).toBe(10);
    expect(stored()).toBe(10);

    // Second download (the meter re-sends all 40 stored records) is cut by an unplug half way.
    // The meter runs as its own process, like the real device; pulling the cable ends both.
    const meter = spawn(
      process.execPath,
      [
        METER_CLI,
        "--path",
        devEnd,
        "--records",
        "40",
        "--first-record-ms",
        String(firstRecordMs),
        "--frame-delay-ms",
        "10",
      ],
      { stdio: "ignore" },
    );
    await until(() => stored() >= 20);
    await pty.stop();
    meter.kill("SIGKILL");
    const beforeReplug = stored();
    expect(beforeReplug).toBeLessThan(40);

    // Replug: the same stable path comes back; the transport reconnects; the meter sends all 40 again.
    pty = await startPtyPair(devEnd, hubEnd);
    await until(() => (device?.counters.reconnects ?? 0) >= 1);
    expect(
      (await runContourMeter({ path: devEnd, records: 40, firstRecordMs, ackTimeoutMs: 1000 })).acked,
    ).toBe(40);
    expect(stored()).toBe(40);
    expect(device.counters.readings).toBe(40);
    expect(buffer.stats().duplicates).toBeGreaterThanOrEqual(10 + beforeReplug);
    const values = buffer.db
      .prepare("SELECT body FROM readings ORDER BY measured_at")
      .pluck()
      .all() as string[];
    expect(values).toHaveLength(40);
    const first = JSON.parse(values[0] as string);
    expect(first.measuredAt).toBe("2026-11-20T08:00:00.000+00:00");
    expect(first.timeSource).toBe("device");
  }, 60_000);
});
