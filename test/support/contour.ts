import { ACK, buildFrame, ENQ } from "../../drivers/contour-serial/astm.js";
import { driverById } from "../../drivers/index.js";
import type { AgentContext } from "../../src/agent/context.js";
import { SerialDevice } from "../../src/agent/device-serial.js";
import { FakeTransport } from "../../src/transport/fake.js";
import { until } from "./wait.js";

/** A Contour result record the meter showed as HI: marker `>`, its limit 600 mg/dL, 08:30 on 24 Nov 2026. */
export const CONTOUR_HI_RECORD = "R|1|^^^Glucose|600|mg/dL^P||>||202611240830\r";

/**
 * Takes one Contour frame through the real serial path — transport, ASTM link, driver, finishReading,
 * the device sink — into `ctx.buffer` for `patient`, as the meter sends it (ENQ, then the frame);
 * resolves once the meter has been acknowledged (the reading is durable).
 */
export async function contourFrameIntoBuffer(ctx: AgentContext, patient: string, record = CONTOUR_HI_RECORD) {
  const driver = driverById("contour-serial");
  const transport = new FakeTransport();
  const device = new SerialDevice(
    ctx,
    { id: "meter", driver: driver.id, patient, simulate: false, options: {} },
    driver,
    transport,
    { baseMs: 10, maxMs: 50 },
  );
  await device.start();
  try {
    await until(() => transport.opened === 1);
    transport.emitData(Uint8Array.of(ENQ));
    await until(() => transport.writes.length === 1);
    transport.emitData(buildFrame(1, record));
    await until(() => transport.writes.length === 2);
    if (transport.lastWrite()?.[0] !== ACK) throw new Error("the meter's frame was not acknowledged");
  } finally {
    await device.stop();
  }
}
