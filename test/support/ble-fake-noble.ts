import { EventEmitter } from "node:events";
import type { NobleCharacteristic, NobleLike, NoblePeripheral } from "../../src/transport/ble-types.js";

/** A characteristic of a scripted peripheral; `notify` plays an indication from the device. */
export class FakeCharacteristic extends EventEmitter implements NobleCharacteristic {
  subscribed = false;
  readonly written: Buffer[] = [];
  onWrite: (data: Buffer) => void = () => {};
  /** What a read returns (undefined: the read fails, as for a characteristic that cannot be read). */
  value: Uint8Array | undefined;
  reads = 0;
  constructor(
    readonly uuid: string,
    readonly properties: string[],
    private readonly requiresBonding = false,
  ) {
    super();
  }
  async subscribeAsync(): Promise<void> {
    if (this.requiresBonding) throw new Error("Insufficient Authentication");
    this.subscribed = true;
  }
  async readAsync(): Promise<Buffer> {
    this.reads++;
    if (this.value === undefined) throw new Error("Read Not Permitted");
    return Buffer.from(this.value);
  }
  async writeAsync(data: Buffer): Promise<void> {
    this.written.push(data);
    setImmediate(() => this.onWrite(data));
  }
  notify(bytes: Uint8Array): void {
    if (this.subscribed) this.emit("data", Buffer.from(bytes), false);
  }
}

export class FakePeripheral extends EventEmitter implements NoblePeripheral {
  state = "disconnected";
  connects = 0;
  readonly advertisement: { localName?: string; serviceUuids?: string[] };
  constructor(
    readonly address: string,
    readonly services: string[],
    readonly characteristics: FakeCharacteristic[],
    localName?: string,
  ) {
    super();
    this.advertisement = { serviceUuids: services, ...(localName ? { localName } : {}) };
  }
  get id(): string {
    return this.address.replace(/:/g, "");
  }
  async connectAsync(): Promise<void> {
    this.connects++;
    this.state = "connected";
  }
  async disconnectAsync(): Promise<void> {
    if (this.state === "disconnected") return;
    this.state = "disconnected";
    this.emit("disconnect");
  }
  /** The device drops the link (out of range, battery, mid-transfer). */
  dropLink(): void {
    void this.disconnectAsync();
  }
  async discoverSomeServicesAndCharacteristicsAsync(_s: string[], uuids: string[]) {
    return { characteristics: this.characteristics.filter((c) => uuids.includes(c.uuid)) };
  }
  char(uuid: string): FakeCharacteristic {
    const c = this.characteristics.find((x) => x.uuid === uuid);
    if (!c) throw new Error(`no characteristic ${uuid}`);
    return c;
  }
}

/** The part of noble the transport uses, with peripherals that advertise while scanning is on. */
export class FakeNoble extends EventEmitter implements NobleLike {
  state = "poweredOn";
  scanning = false;
  readonly peripherals: FakePeripheral[] = [];
  async startScanningAsync(services: string[]): Promise<void> {
    this.scanning = true;
    for (const p of this.peripherals) {
      if (services.length === 0 || p.services.some((s) => services.includes(s))) {
        setImmediate(() => this.scanning && this.emit("discover", p));
      }
    }
  }
  async stopScanningAsync(): Promise<void> {
    this.scanning = false;
  }
}
