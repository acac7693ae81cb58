import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { driverById } from "../../drivers/index.js";
import type { AgentContext } from "../../src/agent/context.js";
import { BleDevice, currentTimeValue, racpRequest } from "../../src/agent/device-ble.js";
import type { HubBuffer } from "../../src/buffer/buffer.js";
import { FakeClock } from "../../src/core/clock.js";
import { AdapterLock } from "../../src/transport/ble.js";
import { FakeCharacteristic, FakeNoble, FakePeripheral } from "../support/ble-fake-noble.js";
import { glucoseMeter } from "../support/ble-glucose-meter.js";
import { makeBuffer } from "../support/buffer.js";
import { testContext } from "../support/context.js";
import { tempDir } from "../support/tmp.js";
import { until } from "../support/wait.js";

let tmp: ReturnType<typeof tempDir>;
let buffer: HubBuffer;
let ctx: AgentContext;
const devices: BleDevice[] = [];

beforeEach(() => {
  tmp = tempDir();
  const clock = new FakeClock(Date.UTC(2026, 10, 24, 12));
  ({ buffer } = makeBuffer(join(tmp.dir, "data"), { clock }));
  ctx = testContext(buffer, clock, tmp.dir);
});
afterEach(async () => {
  for (const d of devices.splice(0)) await d.stop();
  buffer.close();
  tmp.cleanup();
});

function start(noble: FakeNoble, id: string, driver: string, address: string, lock = new AdapterLock()) {
  const device = new BleDevice(
    ctx,
    { id, driver, patient: "p1", bleAddress: address, simulate: false, options: {} },
    driverById(driver),
    { noble: async () => noble, lock, idleMs: 10, scanTimeoutMs: 1000, retry: { baseMs: 10, maxMs: 50 } },
  );
  devices.push(device);
  void device.start();
  return device;
}

describe("BLE glucose meter with RACP", () => {
  it("downloads all records, loses none across a disconnect mid-transfer, and stores none twice", async () => {
    const records = Array.from({ length: 12 }, (_, i) => ({ seq: i + 1, mgdl: 90 + i }));
    const meter = glucoseMeter("aa:bb:cc:dd:ee:01", records);
    meter.script.dropAfter = 5; // the link drops after 5 records of the first transfer
    const noble = new FakeNoble();
    noble.peripherals.push(meter.peripheral);
    start(noble, "meter", "ble-glucose", "AA:BB:CC:DD:EE:01");
    await until(() => buffer.stats().byState.pending === 12);
    // First request: all records; after the drop: only those after the last one stored (seq 5).
    expect(meter.script.requests[0]).toEqual([0x01, 0x01]);
    expect(meter.script.requests[1]).toEqual([0x01, 0x03, 0x01, 6, 0]);
    expect(buffer.kvGet("racp-last-seq:meter")).toBe("12");
    // The meter has a new record: the next session asks only for it.
    records.push({ seq: 13, mgdl: 140 });
    await until(() => buffer.stats().byState.pending === 13);
    expect(meter.script.requests.at(-1)).toEqual([0x01, 0x03, 0x01, 13, 0]);
    expect(buffer.stats().duplicates).toBe(0);
    expect(noble.scanning).toBe(false);
  });

  it("encodes RACP requests and Current Time as the specifications say", () => {
    expect([...racpRequest(undefined)]).toEqual([1, 1]);
    expect([...racpRequest(0x01ff)]).toEqual([1, 3, 1, 0x00, 0x02]);
    // Tuesday 2026-11-24 12:00:00 in London (UTC in winter)
    expect([...currentTimeValue(Date.UTC(2026, 10, 24, 12), "Europe/London")]).toEqual([
      0xea, 0x07, 11, 24, 12, 0, 0, 2, 0, 1,
    ]);
  });
});

describe("BLE transport", () => {
  it("reports a device that needs bonding clearly and keeps trying later", async () => {
    const bp = new FakePeripheral(
      "aa:bb:cc:dd:ee:02",
      ["1810"],
      [new FakeCharacteristic("2a35", ["indicate"], true)],
    );
    const noble = new FakeNoble();
    noble.peripherals.push(bp);
    const device = start(noble, "bp", "ble-blood-pressure", "aa:bb:cc:dd:ee:02");
    await until(() => bp.connects >= 1);
    expect(device.counters.readings).toBe(0);
    expect(bp.state).toBe("disconnected");
  });

  it("a BP monitor sends its stored readings and hangs up; two devices share the adapter in turn", async () => {
    const noble = new FakeNoble();
    const mk = (addr: string) => {
      const c = new FakeCharacteristic("2a35", ["indicate"]);
      const p = new FakePeripheral(addr, ["1810"], [c]);
      const orig = p.connectAsync.bind(p);
      p.connectAsync = async () => {
        await orig();
        setTimeout(() => {
          c.notify(Uint8Array.of(0x02, 0x78, 0, 0x50, 0, 0x5d, 0, 0xea, 0x07, 11, 24, 8, p.connects, 0));
          p.dropLink();
        }, 5);
      };
      return p;
    };
    noble.peripherals.push(mk("aa:00:00:00:00:01"), mk("aa:00:00:00:00:02"));
    let concurrent = 0;
    let maxConcurrent = 0;
    const tracked = new AdapterLock();
    const run = tracked.run.bind(tracked);
    tracked.run = async (fn) =>
      run(async () => {
        maxConcurrent = Math.max(maxConcurrent, ++concurrent);
        try {
          return await fn();
        } finally {
          concurrent--;
        }
      });
    start(noble, "bp1", "ble-blood-pressure", "aa:00:00:00:00:01", tracked);
    start(noble, "bp2", "ble-blood-pressure", "aa:00:00:00:00:02", tracked);
    await until(() => buffer.stats().byState.pending >= 4);
    expect(maxConcurrent).toBe(1);
  });
});

describe("loading noble", () => {
  it("turns a machine without Bluetooth into BLUETOOTH_UNAVAILABLE, never a crash", async () => {
    const { loadNoble } = await import("../../src/transport/ble.js");
    const outcome = await loadNoble().then(
      () => "loaded",
      (err: { code?: string }) => err.code,
    );
    expect(["loaded", "BLUETOOTH_UNAVAILABLE"]).toContain(outcome);
  });
});
