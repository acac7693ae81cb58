import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { driverById } from "../../drivers/index.js";
import type { AgentContext } from "../../src/agent/context.js";
import { BleDevice, currentTimeValue, racpRequest } from "../../src/agent/device-ble.js";
import { hubStatus } from "../../src/agent/status.js";
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

const bpConfig = {
  id: "bp",
  driver: "ble-blood-pressure",
  patient: "p1",
  bleAddress: "aa:00:00:00:00:0f",
  simulate: false,
  options: {},
};

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

describe("BLE characteristics and streams", () => {
  /** A peripheral that connects, runs `script` a moment later, then hangs up. */
  function scripted(address: string, services: string[], chars: FakeCharacteristic[], script: () => void) {
    const p = new FakePeripheral(address, services, chars);
    const connect = p.connectAsync.bind(p);
    p.connectAsync = async () => {
      await connect();
      if (p.connects === 1)
        setTimeout(() => {
          script();
          p.dropLink();
        }, 5);
    };
    return p;
  }

  it("reads the standard Battery Level (0x180F/0x2A19) at connect and on notification: a device status, never a reading", async () => {
    const measurement = new FakeCharacteristic("2a35", ["indicate"]);
    const battery = new FakeCharacteristic("2a19", ["read", "notify"]);
    battery.value = Uint8Array.of(75);
    let atConnect: number | null = null;
    const p = scripted("aa:00:00:00:00:19", ["1810", "180f"], [measurement, battery], () => {
      atConnect = device.counters.batteryPercent;
      battery.notify(Uint8Array.of(50));
      measurement.notify(Uint8Array.of(0x00, 0x78, 0, 0x50, 0, 0x5d, 0));
      battery.notify(Uint8Array.of(0xff)); // not a level: ignored, the last good one stays
    });
    const noble = new FakeNoble();
    noble.peripherals.push(p);
    const device = start(noble, "bp", "ble-blood-pressure", "aa:00:00:00:00:19");
    await until(() => p.connects >= 1 && p.state === "disconnected" && device.counters.readings >= 1);
    expect(battery.reads).toBe(1);
    expect(atConnect).toBe(75);
    expect(device.counters.batteryPercent).toBe(50);
    expect(device.counters.readings).toBe(1);
    expect(device.counters.malformedFrames).toBe(0);
    const rows = buffer.db.prepare("SELECT body FROM readings").all() as Array<{ body: string }>;
    expect(rows.map((r) => JSON.parse(r.body).kind)).toEqual(["blood-pressure"]);
  });

  it("health's bluetooth follows noble's adapter state: powered off is unavailable at once (not after a scan timeout), powered on is available", async () => {
    const measurement = new FakeCharacteristic("2a35", ["indicate"]);
    const p = scripted("aa:00:00:00:00:0f", ["1810"], [measurement], () => {});
    const noble = new FakeNoble();
    noble.state = "poweredOff";
    noble.peripherals.push(p);
    const device = start(noble, "bp", "ble-blood-pressure", "aa:00:00:00:00:0f");
    const health = () =>
      hubStatus({
        config: ctx.config,
        clock: ctx.clock,
        startedMs: 0,
        stats: () => buffer.stats(),
        devices: () => [{ device: bpConfig, transport: "ble", counters: device.counters }],
        links: () => new Map(),
      }).bluetooth;
    await until(() => device.counters.adapterState === "poweredOff");
    expect(device.counters.lastErrorCode).toBeNull(); // the scan has not timed out yet
    expect(health()).toBe("unavailable");
    noble.state = "poweredOn";
    noble.emit("stateChange", "poweredOn");
    await until(() => p.connects >= 1 && device.counters.adapterState === "poweredOn");
    expect(health()).toBe("available");
  });

  it("a device without the Battery Service, or whose level cannot be read, is read as before (battery stays unknown)", async () => {
    const noble = new FakeNoble();
    const mk = (address: string, extra: FakeCharacteristic[]) => {
      const measurement = new FakeCharacteristic("2a35", ["indicate"]);
      const p = scripted(address, ["1810"], [measurement, ...extra], () =>
        measurement.notify(Uint8Array.of(0x00, 0x78, 0, 0x50, 0, 0x5d, 0)),
      );
      noble.peripherals.push(p);
      return p;
    };
    const refusing = new FakeCharacteristic("2a19", ["read", "notify"], true); // read fails, subscribe needs bonding
    const a = mk("aa:00:00:00:01:19", []);
    const b = mk("aa:00:00:00:02:19", [refusing]);
    const d1 = start(noble, "bp1", "ble-blood-pressure", "aa:00:00:00:01:19");
    const d2 = start(noble, "bp2", "ble-blood-pressure", "aa:00:00:00:02:19");
    await until(() => d1.counters.readings >= 1 && d2.counters.readings >= 1);
    expect([a.connects, b.connects].every((n) => n >= 1)).toBe(true);
    expect(refusing.reads).toBeGreaterThanOrEqual(1);
    expect([d1.counters.batteryPercent, d2.counters.batteryPercent]).toEqual([null, null]);
  });

  it("never turns intermediate cuff pressure 0x2A36 into a reading: it is not even subscribed", async () => {
    const measurement = new FakeCharacteristic("2a35", ["indicate"]);
    const cuff = new FakeCharacteristic("2a36", ["notify"]);
    cuff.subscribed = true; // a device that notifies without being asked
    const p = scripted("aa:00:00:00:00:36", ["1810"], [measurement, cuff], () => {
      // live cuff pressure 60, 120, 180 mmHg while inflating, then the measurement 120/80/93
      for (const kpa of [60, 120, 180]) cuff.notify(Uint8Array.of(0x00, kpa, 0, 0xff, 0x07, 0xff, 0x07));
      measurement.notify(Uint8Array.of(0x00, 0x78, 0, 0x50, 0, 0x5d, 0));
    });
    const noble = new FakeNoble();
    noble.peripherals.push(p);
    const device = start(noble, "bp", "ble-blood-pressure", "aa:00:00:00:00:36");
    await until(() => p.connects >= 1 && p.state === "disconnected" && device.counters.readings >= 1);
    const rows = buffer.db.prepare("SELECT body FROM readings").all() as Array<{ body: string }>;
    expect(rows.map((r) => JSON.parse(r.body).components.map((c: { value: number }) => c.value))).toEqual([
      [120, 80, 93],
    ]);
  });

  it("condenses a heart rate stream into one reading per window instead of one per notification", async () => {
    const hr = new FakeCharacteristic("2a37", ["notify"]);
    const p = scripted("aa:00:00:00:00:37", ["180d"], [hr], () => {
      for (const bpm of [70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81]) hr.notify(Uint8Array.of(0x00, bpm));
    });
    const noble = new FakeNoble();
    noble.peripherals.push(p);
    const device = start(noble, "hr", "ble-heart-rate", "aa:00:00:00:00:37");
    await until(() => device.counters.readings >= 1);
    await until(() => p.state === "disconnected");
    const rows = buffer.db.prepare("SELECT body FROM readings").all() as Array<{ body: string }>;
    expect(rows).toHaveLength(1);
    const reading = JSON.parse((rows[0] as { body: string }).body);
    expect(reading.components.map((c: { id: string; value: number }) => [c.id, c.value])).toEqual([
      ["heart-rate", 75.5],
    ]);
    expect(reading.flags).toContain("condensed");
    expect(reading.meta.samples).toBe(12);
  });

  it("a PLX spot-check is a reading at once; its continuous stream is condensed", async () => {
    const spot = new FakeCharacteristic("2a5e", ["indicate"]);
    const stream = new FakeCharacteristic("2a5f", ["notify"]);
    const p = scripted("aa:00:00:00:00:5e", ["1822"], [spot, stream], () => {
      spot.notify(Uint8Array.of(0x00, 97, 0, 72, 0));
      for (let i = 0; i < 3; i++) stream.notify(Uint8Array.of(0x00, 98, 0, 70, 0)); // fewer than minSamples
    });
    const noble = new FakeNoble();
    noble.peripherals.push(p);
    const device = start(noble, "ox", "ble-pulse-oximeter", "aa:00:00:00:00:5e");
    await until(() => device.counters.readings >= 1);
    await until(() => p.state === "disconnected");
    const rows = buffer.db.prepare("SELECT body FROM readings").all() as Array<{ body: string }>;
    expect(rows.map((r) => JSON.parse(r.body).components.map((c: { value: number }) => c.value))).toEqual([
      [97, 72],
    ]);
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
