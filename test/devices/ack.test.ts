import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ACK, buildFrame, ENQ, NAK } from "../../drivers/contour-serial/astm.js";
import { driverById } from "../../drivers/index.js";
import type { AgentContext } from "../../src/agent/context.js";
import { SerialDevice } from "../../src/agent/device-serial.js";
import type { HubBuffer } from "../../src/buffer/buffer.js";
import { FakeClock } from "../../src/core/clock.js";
import { findSerialPort } from "../../src/transport/discover.js";
import { FakeTransport } from "../../src/transport/fake.js";
import { makeBuffer } from "../support/buffer.js";
import { testContext } from "../support/context.js";
import { tempDir } from "../support/tmp.js";
import { until } from "../support/wait.js";

let tmp: ReturnType<typeof tempDir>;
let buffer: HubBuffer;
let device: SerialDevice | undefined;
let transport: FakeTransport;

beforeEach(async () => {
  tmp = tempDir();
  const clock = new FakeClock(Date.UTC(2026, 10, 24, 12));
  ({ buffer } = makeBuffer(join(tmp.dir, "data"), { clock }));
  const ctx: AgentContext = testContext(buffer, clock, tmp.dir);
  transport = new FakeTransport();
  const driver = driverById("contour-serial");
  device = new SerialDevice(
    ctx,
    { id: "m", driver: driver.id, patient: "p1", simulate: false, options: {} },
    driver,
    transport,
    {
      baseMs: 10,
      maxMs: 50,
    },
  );
  await device.start();
  await until(() => transport.opened === 1);
});
afterEach(async () => {
  await device?.stop();
  buffer.close();
  tmp.cleanup();
});

/** Record n in frame n (mod 8): after ENQ a meter numbers its frames 1, 2, … 7, 0, 1, … */
const record = (n: number) =>
  buildFrame(n % 8, `R|${n}|^^^Glucose|${100 + n}|mg/dL^P||||20261124${String(10 + n).padStart(2, "0")}00\r`);

describe("serial device acknowledgements", () => {
  it("answers ENQ, ACKs a record only once it is stored, NAKs a corrupt frame", async () => {
    transport.emitData(Uint8Array.of(ENQ));
    await until(() => transport.writes.length === 1);
    expect(transport.lastWrite()).toEqual(Uint8Array.of(ACK));
    transport.emitData(record(1));
    await until(() => transport.writes.length === 2);
    expect(buffer.stats().byState.pending).toBe(1); // stored before the ACK went out
    const corrupt = record(2);
    corrupt[5] = 0x41;
    transport.emitData(corrupt);
    await until(() => transport.writes.length === 3);
    expect(transport.lastWrite()).toEqual(Uint8Array.of(NAK));
    expect(device?.counters.malformedFrames).toBe(1);
  });

  it("does not acknowledge a record that could not be stored, so the meter keeps it", async () => {
    transport.emitData(Uint8Array.of(ENQ));
    await until(() => transport.writes.length === 1);
    buffer.db.pragma(`max_page_count = ${buffer.db.pragma("page_count", { simple: true })}`); // disk full
    // A meter sends the next frame only once the last one is ACKed.
    for (let n = 1; n <= 30 && (device?.counters.notStored ?? 0) === 0; n++) {
      const writes = transport.writes.length;
      transport.emitData(record(n));
      await until(() => transport.writes.length > writes || (device?.counters.notStored ?? 0) > 0);
    }
    expect(device?.counters.notStored).toBe(1);
    const acks = transport.writes.filter((w) => w[0] === ACK).length - 1;
    expect(acks).toBe(buffer.stats().byState.pending);
  });

  it("a frame whose record could not be stored is decoded again when the meter re-sends it", async () => {
    transport.emitData(Uint8Array.of(ENQ));
    await until(() => transport.writes.length === 1);
    // Every insert fails, as on a full disk.
    buffer.db.exec(
      "CREATE TEMP TRIGGER full BEFORE INSERT ON readings BEGIN SELECT RAISE(FAIL, 'full'); END",
    );
    transport.emitData(record(1));
    await until(() => (device?.counters.notStored ?? 0) === 1);
    expect(transport.writes).toHaveLength(1); // no ACK: the meter will time out and re-send frame 1
    buffer.db.exec("DROP TRIGGER temp.full"); // space again
    transport.emitData(record(1)); // the same frame, same number
    await until(() => transport.writes.length === 2);
    expect(transport.lastWrite()).toEqual(Uint8Array.of(ACK));
    expect(buffer.stats().byState.pending).toBe(1); // stored, not mistaken for a repeat
    transport.emitData(record(1)); // a true repeat now (the meter missed the ACK): ACKed, not stored twice
    await until(() => transport.writes.length === 3);
    expect(transport.lastWrite()).toEqual(Uint8Array.of(ACK));
    expect(buffer.stats().byState.pending).toBe(1);
    expect(device?.counters.duplicates).toBe(0);
  });

  it("reconnects when the device goes away", async () => {
    transport.unplug();
    await until(() => transport.opened === 2);
    expect(device?.counters.reconnects).toBe(1);
  });
});

describe("hot-plug discovery", () => {
  it("finds a device by its USB ids, preferring the stable by-id path", async () => {
    const list = async () => [
      { path: "/dev/ttyS0" },
      { path: "/dev/ttyUSB1", vendorId: "1A79", productId: "6002", pnpId: "usb-Bayer_Contour-if00" },
    ];
    expect(await findSerialPort(driverById("contour-serial"), list)).toBe(
      "/dev/serial/by-id/usb-Bayer_Contour-if00",
    );
    await expect(findSerialPort(driverById("nonin-serial"), list)).rejects.toMatchObject({
      code: "TRANSPORT_OPEN_FAILED",
    });
  });
});
