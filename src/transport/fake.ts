import { HubError } from "../core/errors.js";
import { ByteQueue } from "./queue.js";
import type { Transport } from "./types.js";

/** A transport for tests: `emitData` plays the device, `writes` records what the hub answered. */
export class FakeTransport implements Transport {
  readonly name = "fake";
  readonly writes: Uint8Array[] = [];
  private readonly queue = new ByteQueue();
  opened = 0;

  async open(): Promise<void> {
    this.opened++;
    this.queue.reset();
  }
  read(): Promise<Uint8Array> {
    return this.queue.read();
  }
  async write(bytes: Uint8Array): Promise<void> {
    this.writes.push(bytes);
  }
  async close(): Promise<void> {
    this.queue.fail(new HubError("TRANSPORT_CANCELED", "transport closed"));
  }
  emitData(bytes: Uint8Array): void {
    this.queue.push(bytes);
  }
  unplug(): void {
    this.queue.fail(new HubError("TRANSPORT_CLOSED", "fake device unplugged"));
  }
  lastWrite(): Uint8Array | undefined {
    return this.writes.at(-1);
  }
}
