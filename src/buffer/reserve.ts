import { closeSync, fsyncSync, openSync, rmSync, statfsSync, statSync, writeSync } from "node:fs";
import { dirname } from "node:path";

const CHUNK = 64 * 1024;

/**
 * Disk space held back for delivery. When the disk fills, every SQLite write fails — claims and
 * completions too — so nothing drains exactly when draining matters. The reserve is a plain file
 * of zeros beside the buffer: released on the first SQLITE_FULL so that claims, completions and
 * the WAL checkpoint have room, and re-created (only when the filesystem has room for it twice
 * over) before new readings are accepted again. While it is released, ingest is refused: new
 * readings must not eat the room delivery needs.
 */
export class DiskReserve {
  constructor(
    readonly file: string,
    readonly bytes: number,
  ) {}

  /** Whether the reserve file is in place at its full size. */
  held(): boolean {
    return this.bytes === 0 || statSync(this.file, { throwIfNoEntry: false })?.size === this.bytes;
  }

  /** Bytes the filesystem holding the buffer can still give to us (undefined where statfs fails). */
  freeBytes(): number | undefined {
    try {
      const st = statfsSync(dirname(this.file));
      return st.bavail * st.bsize;
    } catch {
      return undefined;
    }
  }

  /**
   * Creates the reserve when it is missing. Returns whether it is held afterwards; a partial file
   * (the disk filled while writing) is removed, so a failed attempt frees what it took.
   */
  restore(): boolean {
    if (this.held()) return true;
    const free = this.freeBytes();
    if (free !== undefined && free < 2 * this.bytes) return false;
    rmSync(this.file, { force: true });
    let fd: number | undefined;
    try {
      fd = openSync(this.file, "wx", 0o600);
      const zeros = Buffer.alloc(CHUNK);
      for (let written = 0; written < this.bytes; ) {
        written += writeSync(fd, zeros, 0, Math.min(CHUNK, this.bytes - written));
      }
      // Written blocks, not a sparse file: the space is really taken from the filesystem.
      fsyncSync(fd);
      closeSync(fd);
      return true;
    } catch {
      if (fd !== undefined) closeSync(fd);
      rmSync(this.file, { force: true });
      return false;
    }
  }

  /**
   * Gives the reserved space back to the filesystem. Returns whether anything was released. Kept
   * when the filesystem still has room: the SQLITE_FULL came from elsewhere (a page limit), and
   * releasing would only make the next write re-create the file.
   */
  release(): boolean {
    if (statSync(this.file, { throwIfNoEntry: false }) === undefined) return false;
    const free = this.freeBytes();
    if (free !== undefined && free >= this.bytes) return false;
    rmSync(this.file, { force: true });
    return true;
  }
}

/** Whether an error is SQLite's "database or disk is full". */
export function isFull(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === "SQLITE_FULL";
}

/**
 * Wraps every method of `target` so that a SQLITE_FULL calls `makeRoom` and, when that freed
 * something, the call is tried once more. The failed attempt was rolled back (each outbox write is
 * one transaction), so the retry cannot apply anything twice.
 */
export function retryWhenFull<T extends object>(target: T, makeRoom: () => boolean): T {
  return new Proxy(target, {
    get(obj, prop, receiver) {
      const value: unknown = Reflect.get(obj, prop, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]): unknown => {
        try {
          return value.apply(obj, args);
        } catch (err) {
          if (!isFull(err) || !makeRoom()) throw err;
          return value.apply(obj, args);
        }
      };
    },
  });
}
