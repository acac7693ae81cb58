/**
 * A byte transport: the engine runs unchanged on a real serial port, a BLE link or a fake.
 * A read pending at close rejects with a HubError flagged TRANSPORT_CANCELED.
 */
export interface Transport {
  readonly name: string;
  open(): Promise<void>;
  /** Resolves with the next chunk of bytes; rejects TRANSPORT_CANCELED on close, TRANSPORT_CLOSED when the device went away. */
  read(): Promise<Uint8Array>;
  write(bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
}
