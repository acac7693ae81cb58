import { HubError } from "../../src/core/errors.js";

/** ASTM E1381 link layer control characters. */
export const ENQ = 0x05;
export const ACK = 0x06;
export const NAK = 0x15;
export const EOT = 0x04;
export const STX = 0x02;
export const ETX = 0x03;
export const ETB = 0x17;
export const CR = 0x0d;
export const LF = 0x0a;

/** `STX fn ETX c1 c2 CR LF`: the shortest frame (no text) has 7 bytes. */
const MIN_FRAME = 7;
/** E1381 frames carry at most 240 text characters (247 bytes in all); anything longer is noise. */
export const MAX_FRAME = 247;

export interface AstmFrame {
  frameNumber: number;
  text: string;
  /** ETX ends a message; ETB says the message continues in the next frame. */
  final: boolean;
}

/** Sum of the bytes from the frame number to ETB/ETX inclusive, mod 256, as two upper-case hex digits. */
export function checksumHex(bytes: ArrayLike<number>, from: number, to: number): string {
  let sum = 0;
  for (let i = from; i <= to; i++) sum = (sum + (bytes[i] as number)) & 0xff;
  return sum.toString(16).toUpperCase().padStart(2, "0");
}

/** Text may hold printable characters and CR (the record terminator), never a control character. */
function textByteAllowed(b: number): boolean {
  return b === CR || (b >= 0x20 && b !== 0x7f);
}

/**
 * Parses one whole frame `STX fn text ETB|ETX c1 c2 CR LF`, as the splitter cut it (ending at LF).
 * Checks, in order: length, STX, the terminator five bytes from the end, CR LF, the checksum, the
 * frame number digit, and that the text holds no control character. Frame *order* is the link's job.
 */
export function parseFrame(frame: Uint8Array): AstmFrame {
  const parsed = tryParseFrame(frame);
  if (parsed instanceof HubError) throw parsed;
  return parsed;
}

/** `parseFrame` for the link, which answers a bad frame instead of failing: the error is returned. */
export function tryParseFrame(frame: Uint8Array): AstmFrame | HubError {
  try {
    return parseFrameOrThrow(frame);
  } catch (err) {
    return err as HubError; // parseFrameOrThrow throws nothing but HubError
  }
}

function parseFrameOrThrow(frame: Uint8Array): AstmFrame {
  if (frame.length < MIN_FRAME) throw new HubError("FRAME_SHORT", `ASTM frame is ${frame.length} bytes`);
  if (frame.length > MAX_FRAME)
    throw new HubError("FRAME_MALFORMED", `ASTM frame is ${frame.length} bytes, more than ${MAX_FRAME}`);
  if (frame[0] !== STX) throw new HubError("FRAME_MALFORMED", "ASTM frame does not start with STX");
  const end = frame.length - 5;
  const terminator = frame[end];
  if (terminator !== ETX && terminator !== ETB)
    throw new HubError("FRAME_MALFORMED", "ASTM frame has no ETX/ETB before its checksum");
  if (frame[end + 3] !== CR || frame[end + 4] !== LF)
    throw new HubError("FRAME_MALFORMED", "ASTM frame does not end with checksum CR LF");
  const got = String.fromCharCode(frame[end + 1] as number, frame[end + 2] as number);
  if (got !== checksumHex(frame, 1, end))
    throw new HubError("FRAME_CHECKSUM", "ASTM frame checksum mismatch");
  const fn = (frame[1] as number) - 0x30;
  if (fn < 0 || fn > 7) throw new HubError("FRAME_MALFORMED", "ASTM frame number is not 0-7");
  let text = "";
  for (let i = 2; i < end; i++) {
    const b = frame[i] as number;
    if (!textByteAllowed(b))
      throw new HubError("FRAME_MALFORMED", `ASTM frame text holds control character 0x${b.toString(16)}`);
    text += String.fromCharCode(b);
  }
  return { frameNumber: fn, text, final: terminator === ETX };
}

/** Builds a frame (the simulator and tests use it). */
export function buildFrame(frameNumber: number, text: string, final = true): Uint8Array {
  const body = [
    0x30 + (frameNumber % 8),
    ...Array.from(text, (c) => c.charCodeAt(0) & 0xff),
    final ? ETX : ETB,
  ];
  const cs = checksumHex(body, 0, body.length - 1);
  return Uint8Array.from([STX, ...body, cs.charCodeAt(0), cs.charCodeAt(1), CR, LF]);
}

/**
 * Splits a stream into control bytes (ENQ, EOT) and whole frames (STX … LF); other bytes are noise.
 * A frame cut short — by a new STX, by ENQ/EOT, or by running past the longest frame — is noise too:
 * the meter re-sends a frame it gets no ACK for.
 */
export class AstmSplitter {
  private buf: number[] = [];
  push(bytes: Uint8Array): { items: Uint8Array[]; discarded: number } {
    const items: Uint8Array[] = [];
    let discarded = 0;
    for (const b of bytes) {
      if (b === STX || b === ENQ || b === EOT) {
        discarded += this.buf.length; // a frame in progress was cut off
        this.buf = [];
        if (b === STX) this.buf.push(b);
        else items.push(Uint8Array.of(b));
        continue;
      }
      if (this.buf.length === 0) {
        discarded++;
        continue;
      }
      this.buf.push(b);
      if (b === LF) {
        items.push(Uint8Array.from(this.buf));
        this.buf = [];
      } else if (this.buf.length >= MAX_FRAME) {
        discarded += this.buf.length; // no frame is that long: resynchronise on the next STX
        this.buf = [];
      }
    }
    return { items, discarded };
  }
}
