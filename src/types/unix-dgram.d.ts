declare module "unix-dgram" {
  import type { EventEmitter } from "node:events";

  /** The part of unix-dgram's socket pkb-hub uses (sd_notify: unconnected sendto). */
  export interface UnixDgramSocket extends EventEmitter {
    send(buf: Buffer, offset: number, length: number, path: string, callback?: (err?: Error) => void): void;
    close(): void;
  }
  export function createSocket(type: "unix_dgram"): UnixDgramSocket;
}
