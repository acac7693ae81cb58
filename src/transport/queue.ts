import type { HubError } from "../core/errors.js";

/** Chunks arriving from a device, handed to `read()` callers in order; shared by every transport. */
export class ByteQueue {
  private chunks: Uint8Array[] = [];
  private waiters: Array<{ resolve: (b: Uint8Array) => void; reject: (e: unknown) => void }> = [];
  private failure: HubError | undefined;

  push(bytes: Uint8Array): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(bytes);
    else this.chunks.push(bytes);
  }

  read(): Promise<Uint8Array> {
    const chunk = this.chunks.shift();
    if (chunk) return Promise.resolve(chunk);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Rejects pending and future reads (until `reset`) with `error`. */
  fail(error: HubError): void {
    this.failure = error;
    for (const w of this.waiters.splice(0)) w.reject(error);
  }

  reset(): void {
    this.failure = undefined;
    this.chunks = [];
  }
}
