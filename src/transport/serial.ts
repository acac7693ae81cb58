import { SerialPort } from "serialport";
import type { SerialSettings } from "../../drivers/types.js";
import { HubError, messageOf } from "../core/errors.js";
import { ByteQueue } from "./queue.js";
import type { Transport } from "./types.js";

export interface SerialTransportOptions {
  /**
   * A stable path: /dev/serial/by-id/… (ttyUSB numbers change when a device is re-plugged), or a
   * function that finds the device at each (re)connect (hot-plug discovery by USB ids).
   */
  path: string | (() => Promise<string>);
  settings: SerialSettings;
}

function translateOpenError(path: string, err: unknown): HubError {
  const text = messageOf(err);
  if (/EACCES|Permission denied/i.test(text)) {
    return new HubError(
      "SERIAL_PERMISSION",
      `no permission to open ${path}: add the agent's user to the 'dialout' group (or fix the udev rule)`,
      { cause: err },
    );
  }
  if (/lock|EAGAIN|Resource temporarily unavailable/i.test(text)) {
    return new HubError("SERIAL_LOCKED", `${path} is in use by another program`, { cause: err });
  }
  return new HubError("TRANSPORT_OPEN_FAILED", `cannot open ${path}: ${text}`, { cause: err });
}

/** One serial port, locked while open. Unplugging the device fails reads with TRANSPORT_CLOSED. */
export class SerialTransport implements Transport {
  readonly name: string;
  private port: SerialPort | undefined;
  private readonly queue = new ByteQueue();
  private closing = false;
  private path = "";

  constructor(private readonly options: SerialTransportOptions) {
    this.name = typeof options.path === "string" ? `serial:${options.path}` : "serial:(discovered by USB id)";
  }

  async open(): Promise<void> {
    this.closing = false;
    this.queue.reset();
    const { settings } = this.options;
    const path = typeof this.options.path === "string" ? this.options.path : await this.options.path();
    this.path = path;
    const port = new SerialPort({ path, ...settings, lock: true, autoOpen: false });
    await new Promise<void>((resolve, reject) =>
      port.open((err) => (err ? reject(translateOpenError(path, err)) : resolve())),
    );
    port.on("data", (chunk: Buffer) => this.queue.push(new Uint8Array(chunk)));
    port.on("close", () => {
      if (!this.closing) this.queue.fail(new HubError("TRANSPORT_CLOSED", `${path} went away`));
    });
    port.on("error", () => {
      if (!this.closing) this.queue.fail(new HubError("TRANSPORT_CLOSED", `${path} failed`));
    });
    this.port = port;
  }

  read(): Promise<Uint8Array> {
    return this.queue.read();
  }

  write(bytes: Uint8Array): Promise<void> {
    const port = this.port;
    if (!port?.isOpen) return Promise.reject(new HubError("TRANSPORT_CLOSED", `${this.path} is not open`));
    return new Promise((resolve, reject) => {
      port.write(Buffer.from(bytes), (err) => {
        if (err) reject(new HubError("TRANSPORT_CLOSED", `write to ${this.path} failed`, { cause: err }));
        else port.drain(() => resolve());
      });
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    this.queue.fail(new HubError("TRANSPORT_CANCELED", "transport closed", { retryable: false }));
    const port = this.port;
    this.port = undefined;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }
}
