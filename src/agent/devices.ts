import { join } from "node:path";
import { DEFAULT_CONDENSE } from "../../drivers/condense.js";
import { driverById } from "../../drivers/index.js";
import type { DeviceConfig } from "../config/schema.js";
import { HubError, messageOf } from "../core/errors.js";
import { AdapterLock, loadNoble } from "../transport/ble.js";
import type { NobleLike } from "../transport/ble-types.js";
import { findSerialPort } from "../transport/discover.js";
import { SerialTransport } from "../transport/serial.js";
import type { AgentContext, Component } from "./context.js";
import { BleDevice } from "./device-ble.js";
import { SerialDevice } from "./device-serial.js";
import { type DeviceCounters, newCounters } from "./device-sink.js";
import type { DeviceTransport, DeviceView } from "./status.js";

/** A running device part, with what the status snapshot shows of it. */
export interface DeviceComponent extends Component, DeviceView {}

function view(
  part: Component & { counters: DeviceCounters },
  device: DeviceConfig,
  transport: DeviceTransport,
): DeviceComponent {
  return {
    name: part.name,
    start: () => part.start(),
    stop: () => part.stop(),
    device,
    transport,
    counters: part.counters,
  };
}

/** A device the hub cannot drive yet: it says so at start, once, and stays out of the way. */
function unsupported(ctx: AgentContext, device: DeviceConfig, why: string): DeviceComponent {
  return {
    name: `device:${device.id}`,
    start: async () => ctx.logger.error({ device: device.id, driver: device.driver }, why),
    stop: async () => {},
    device,
    transport: "none",
    counters: newCounters(),
  };
}

/**
 * `simulate: true`: a real pseudo-terminal pair (socat) in the data directory, the driver's simulator
 * on one end and the real serial transport on the other — the same path a USB device takes.
 */
function simulated(ctx: AgentContext, device: DeviceConfig): DeviceComponent {
  const driver = driverById(device.driver);
  if (!driver.serial || (driver.id !== "contour-serial" && driver.id !== "nonin-serial")) {
    return unsupported(ctx, device, `no simulator for driver ${driver.id}`);
  }
  const deviceEnd = join(ctx.dataDir, `sim-${device.id}-device`);
  const hubEnd = join(ctx.dataDir, `sim-${device.id}-hub`);
  const transport = new SerialTransport({ path: hubEnd, settings: driver.serial });
  const inner = new SerialDevice(ctx, device, driver, transport, { baseMs: 100, maxMs: 2000 });
  let pty: { stop(): Promise<void> } | undefined;
  let meter: Promise<unknown> | undefined;
  return {
    name: inner.name,
    device,
    transport: "simulated",
    counters: inner.counters,
    async start() {
      const { startPtyPair } = await import("../../scripts/simulators/socat.js");
      pty = await startPtyPair(deviceEnd, hubEnd);
      await inner.start();
      const run =
        driver.id === "contour-serial"
          ? import("../../scripts/simulators/contour.js").then((m) =>
              m.runContourMeter({
                path: deviceEnd,
                // The simulated meter keeps its records across restarts, like a real one.
                memoryFile: join(ctx.dataDir, `sim-${device.id}-memory.json`),
                records: Number(device.options.records ?? 10),
                ...(device.options.frameDelayMs !== undefined
                  ? { frameDelayMs: Number(device.options.frameDelayMs) }
                  : {}),
                ...(device.options.firstRecordMs !== undefined
                  ? { firstRecordMs: Number(device.options.firstRecordMs) }
                  : {}),
              }),
            )
          : import("../../scripts/simulators/nonin.js").then(async (m) => {
              const packets = Number(device.options.packets ?? 600);
              const packetsPerSec = Number(device.options.packetsPerSec ?? 3);
              // Said before and after the stream: a simulated oximeter that yields no reading says why.
              const outlook = m.oximeterOutlook({
                packets,
                packetsPerSec,
                windowSec: Number(device.options.condenseWindowSec ?? DEFAULT_CONDENSE.windowMs / 1000),
                minSamples: Number(device.options.condenseMinSamples ?? DEFAULT_CONDENSE.minSamples),
              });
              const say = (msg: string, fields: Record<string, number>) =>
                ctx.logger[outlook.readings ? "info" : "warn"]({ device: device.id, ...fields }, msg);
              say(`simulated oximeter streaming: ${outlook.text}`, { packets, packetsPerSec });
              const sent = await m.runNoninOximeter({ path: deviceEnd, packets, packetsPerSec });
              say(`simulated oximeter stopped streaming: ${outlook.text}`, { sent });
            });
      meter = run.catch((err: unknown) =>
        ctx.logger.warn({ device: device.id, message: messageOf(err) }, "simulated device stopped"),
      );
    },
    async stop() {
      await inner.stop();
      await pty?.stop();
      // A simulated meter cut off mid-download may never notice (a dead pty): do not wait for it long.
      await Promise.race([meter, new Promise((r) => setTimeout(r, 2000).unref())]);
    },
  };
}

/** Device sessions for every configured device. */
export function createDevices(ctx: AgentContext): DeviceComponent[] {
  const lock = new AdapterLock();
  let noble: Promise<NobleLike> | undefined;
  // Loaded once, on first use, and only when a BLE device is configured.
  const sharedNoble = () => {
    noble ??= loadNoble();
    return noble;
  };
  return ctx.config.devices.map((device) => {
    let driver: ReturnType<typeof driverById>;
    try {
      driver = driverById(device.driver);
    } catch (err) {
      return unsupported(ctx, device, messageOf(err));
    }
    if (device.simulate) return simulated(ctx, device);
    if (driver.matcher.transport === "ble")
      return view(new BleDevice(ctx, device, driver, { noble: sharedNoble, lock }), device, "ble");
    if (!driver.serial) throw new HubError("INTERNAL", `driver ${driver.id} has no serial settings`);
    const path = device.serialPath ?? (() => findSerialPort(driver));
    const transport = new SerialTransport({ path, settings: driver.serial });
    return view(new SerialDevice(ctx, device, driver, transport), device, "serial");
  });
}
