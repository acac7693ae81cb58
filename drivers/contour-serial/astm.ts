import { HubError } from "../../src/core/errors.js";

/** ASTM E1381 link layer control characters. */
export const ENQ = 0x05;
export const ACK = 0x06;
export const NAK = 0x15;
export const EOT = 0x04;
export const STX = 0x02;
export const ETX = 0x03;
export const ETB = 0x17;
const CR = 0x0d;
const LF = 0x0a;

export interface AstmFrame {
  frameNumber: number;
  text: string;
  /** ETX ends a message; ETB says the record continues in the next frame. */
  final: boolean;
}

function checksumHex(bytes: Uint8Array, from: number, to: number): string {
  let sum = 0;
  for (let i = from; i <= to; i++) sum = (sum + (bytes[i] as number)) & 0xff;
  return sum.toString(16).toUpperCase().padStart(2, "0");
}

/** Parses `STX fn text ETB|ETX c1 c2 CR LF`, checking the checksum (sum of fn..ETB/ETX mod 256). */
export function parseFrame(frame: Uint8Array): AstmFrame {
  if (frame.length < 7) throw new HubError("FRAME_SHORT", `ASTM frame is ${frame.length} bytes`);
  if (frame[0] !== STX) throw new HubError("FRAME_MALFORMED", "ASTM frame does not start with STX");
  const end = frame.findIndex((b) => b === ETX || b === ETB);
  if (end < 2 || end + 4 >= frame.length + 1)
    throw new HubError("FRAME_MALFORMED", "ASTM frame has no ETX/ETB");
  if (end + 4 > frame.length - 1 || frame[end + 3] !== CR || frame[end + 4] !== LF) {
    throw new HubError("FRAME_MALFORMED", "ASTM frame does not end with checksum CR LF");
  }
  const got = String.fromCharCode(frame[end + 1] as number, frame[end + 2] as number).toUpperCase();
  if (got !== checksumHex(frame, 1, end))
    throw new HubError("FRAME_CHECKSUM", "ASTM frame checksum mismatch");
  const fn = (frame[1] as number) - 0x30;
  if (fn < 0 || fn > 7) throw new HubError("FRAME_MALFORMED", "ASTM frame number is not 0-7");
  let text = "";
  for (let i = 2; i < end; i++) text += String.fromCharCode(frame[i] as number);
  return { frameNumber: fn, text, final: frame[end] === ETX };
}

/** Builds a frame (the simulator and tests use it). */
export function buildFrame(frameNumber: number, text: string, final = true): Uint8Array {
  const body = [
    0x30 + (frameNumber % 8),
    ...Array.from(text, (c) => c.charCodeAt(0) & 0xff),
    final ? ETX : ETB,
  ];
  let sum = 0;
  for (const b of body) sum = (sum + b) & 0xff;
  const cs = sum.toString(16).toUpperCase().padStart(2, "0");
  return Uint8Array.from([STX, ...body, cs.charCodeAt(0), cs.charCodeAt(1), CR, LF]);
}

/** Splits a stream into control bytes (ENQ, EOT) and whole frames (STX … LF); other bytes are noise. */
export class AstmSplitter {
  private buf: number[] = [];
  push(bytes: Uint8Array): { items: Uint8Array[]; discarded: number } {
    const items: Uint8Array[] = [];
    let discarded = 0;
    for (const b of bytes) {
      if (this.buf.length === 0) {
        if (b === ENQ || b === EOT) items.push(Uint8Array.of(b));
        else if (b === STX) this.buf.push(b);
        else discarded++;
        continue;
      }
      this.buf.push(b);
      if (b === LF) {
        items.push(Uint8Array.from(this.buf));
        this.buf = [];
      } else if (this.buf.length > 300) {
        discarded += this.buf.length; // no frame is that long: resynchronise
        this.buf = [];
      }
    }
    return { items, discarded };
  }
}
