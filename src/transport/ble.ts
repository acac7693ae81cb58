import { HubError, messageOf } from "../core/errors.js";
import type { NobleCharacteristic, NobleLike, NoblePeripheral } from "./ble-types.js";
import { ByteQueue } from "./queue.js";

/**
 * noble throws at load time on a machine without Bluetooth: it is loaded only when a BLE device is
 * configured, and that failure becomes BLUETOOTH_UNAVAILABLE, never a crash.
 */
export async function loadNoble(): Promise<NobleLike> {
  try {
    const mod = (await import("@abandonware/noble")) as unknown as { default: NobleLike };
    return mod.default;
  } catch (err) {
    throw new HubError("BLUETOOTH_UNAVAILABLE", `Bluetooth unavailable: ${messageOf(err)}`, { cause: err });
  }
}

/** One adapter, several devices: connections take turns (scanning while connecting drops links). */
export class AdapterLock {
  private tail: Promise<void> = Promise.resolve();
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const prev = this.tail;
    let release: () => void = () => {};
    this.tail = new Promise((r) => {
      release = r;
    });
    await prev;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

export interface BleFrame {
  characteristic: string;
  bytes: Uint8Array;
}

/** Short 16-bit form, lower case: noble reports "2a18" for standard characteristics. */
export function shortUuid(uuid: string): string {
  const u = uuid.toLowerCase().replace(/-/g, "");
  return u.length === 32 && u.endsWith("00001000800000805f9b34fb") ? u.slice(4, 8) : u;
}

function poweredOn(noble: NobleLike, timeoutMs: number): Promise<void> {
  if (noble.state === "poweredOn") return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      noble.removeListener("stateChange", on);
      reject(new HubError("BLUETOOTH_UNAVAILABLE", `Bluetooth adapter is ${noble.state}`));
    }, timeoutMs);
    const on = (state: string) => {
      if (state !== "poweredOn") return;
      clearTimeout(t);
      noble.removeListener("stateChange", on);
      resolve();
    };
    noble.on("stateChange", on);
  });
}

/** Scans for a device offering `services` (and with `address`, if given); stops scanning before returning. */
export async function findPeripheral(
  noble: NobleLike,
  services: string[],
  address: string | undefined,
  timeoutMs: number,
): Promise<NoblePeripheral> {
  await poweredOn(noble, timeoutMs);
  const wanted = address?.toLowerCase();
  return new Promise<NoblePeripheral>((resolve, reject) => {
    const done = (err: HubError | undefined, p?: NoblePeripheral) => {
      clearTimeout(t);
      noble.removeListener("discover", onDiscover);
      // Stop scanning before connecting: connecting while scanning drops links on Raspberry Pi.
      noble.stopScanningAsync().then(
        () => (err ? reject(err) : resolve(p as NoblePeripheral)),
        () => (err ? reject(err) : resolve(p as NoblePeripheral)),
      );
    };
    const onDiscover = (p: NoblePeripheral) => {
      if (wanted === undefined || p.address.toLowerCase() === wanted) done(undefined, p);
    };
    const t = setTimeout(
      () => done(new HubError("TRANSPORT_OPEN_FAILED", "device not found while scanning")),
      timeoutMs,
    );
    noble.on("discover", onDiscover);
    noble.startScanningAsync(services, false).catch((err: unknown) => {
      done(new HubError("BLUETOOTH_UNAVAILABLE", `cannot scan: ${messageOf(err)}`, { cause: err }));
    });
  });
}

/**
 * A connected device: values of the subscribed characteristics arrive through `read()`; a
 * disconnect fails the pending read with TRANSPORT_CLOSED; `close()` with TRANSPORT_CANCELED.
 */
export class BleLink {
  private readonly queue = new ByteQueue();
  private readonly chars = new Map<string, NobleCharacteristic>();
  private closing = false;
  private frames: BleFrame[] = [];

  private constructor(private readonly peripheral: NoblePeripheral) {}

  /**
   * `optional`: characteristics of optional services (e.g. Battery Level): discovered when the
   * device has them, subscribed to when they notify, best effort — a device without them, or that
   * refuses the subscription, is read as before.
   */
  static async connect(
    peripheral: NoblePeripheral,
    services: string[],
    subscribe: string[],
    writable: string[],
    optional: { services: string[]; characteristics: string[] } = { services: [], characteristics: [] },
  ): Promise<BleLink> {
    const link = new BleLink(peripheral);
    await peripheral.connectAsync().catch((err: unknown) => {
      throw new HubError("TRANSPORT_OPEN_FAILED", `connect failed: ${messageOf(err)}`, { cause: err });
    });
    peripheral.once("disconnect", () => {
      if (!link.closing) link.queue.fail(new HubError("TRANSPORT_CLOSED", "device disconnected"));
    });
    const { characteristics } = await peripheral.discoverSomeServicesAndCharacteristicsAsync(
      [...services, ...optional.services],
      [...subscribe, ...writable, ...optional.characteristics],
    );
    for (const c of characteristics) link.chars.set(shortUuid(c.uuid), c);
    for (const uuid of optional.characteristics) {
      const c = link.chars.get(uuid);
      if (!c?.properties.includes("notify")) continue;
      link.deliver(uuid, c);
      await c.subscribeAsync().catch(() => c.removeAllListeners("data"));
    }
    for (const uuid of subscribe) {
      const c = link.chars.get(uuid);
      if (!c) continue;
      link.deliver(uuid, c);
      try {
        await c.subscribeAsync();
      } catch (err) {
        await link.close();
        throw /authentication|encryption|insufficient/i.test(messageOf(err))
          ? new HubError(
              "BLE_BONDING_REQUIRED",
              "the device needs to be bonded (paired) before it sends readings",
              {
                cause: err,
              },
            )
          : new HubError("TRANSPORT_OPEN_FAILED", `subscribe failed: ${messageOf(err)}`, { cause: err });
      }
    }
    return link;
  }

  /** Values of `c` arrive through read(). */
  private deliver(uuid: string, c: NobleCharacteristic): void {
    c.on("data", (data) => {
      this.frames.push({ characteristic: uuid, bytes: new Uint8Array(data) });
      this.queue.push(new Uint8Array(0));
    });
  }

  has(uuid: string): boolean {
    return this.chars.has(uuid);
  }

  /** Reads a characteristic's current value once; undefined when the device has it not or refuses. */
  async readValue(uuid: string): Promise<Uint8Array | undefined> {
    const c = this.chars.get(uuid);
    if (!c?.properties.includes("read")) return undefined;
    try {
      return new Uint8Array(await c.readAsync());
    } catch {
      return undefined;
    }
  }

  /** The next characteristic value, in arrival order. */
  async read(): Promise<BleFrame> {
    for (;;) {
      const frame = this.frames.shift();
      if (frame) return frame;
      await this.queue.read();
    }
  }

  async write(uuid: string, bytes: Uint8Array): Promise<void> {
    const c = this.chars.get(uuid);
    if (!c) throw new HubError("TRANSPORT_CLOSED", `characteristic ${uuid} not available`);
    await c.writeAsync(Buffer.from(bytes), false);
  }

  async close(): Promise<void> {
    this.closing = true;
    this.queue.fail(new HubError("TRANSPORT_CANCELED", "link closed"));
    for (const c of this.chars.values()) c.removeAllListeners("data");
    await this.peripheral.disconnectAsync().catch(() => {});
  }
}
