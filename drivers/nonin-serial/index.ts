import { HubError } from "../../src/core/errors.js";
import { DraftBuilder } from "../draft.js";
import { bit } from "../ieee11073.js";
import type { DriverDefinition, SerialSession, SessionEvent } from "../types.js";

/** Nonin serial data format #2: 5-byte frames, 25 frames a packet (SYNC bit on frame 1), 9600 8N1. */
export const FRAME_BYTES = 5;
export const FRAMES_PER_PACKET = 25;
export const PACKET_BYTES = FRAME_BYTES * FRAMES_PER_PACKET;
const START = 0x01;
const MISSING_HR = 511;
const MISSING_SPO2 = 127;

export function frameValid(b: Uint8Array, at: number): boolean {
  // Bytes past the end of `b` read as undefined, which fails the start-byte, status or checksum test.
  const [s, status, pleth, data, sum] = [b[at], b[at + 1], b[at + 2], b[at + 3], b[at + 4]] as number[];
  return (
    s === START &&
    (status as number) >= 0x80 &&
    (((s as number) + (status as number) + (pleth as number) + (data as number)) & 0xff) === sum
  );
}

/** Status bits 2-1: 01 green (high signal quality), 11 yellow (medium), 10 red (low), 00 none. */
const PERFUSION_GREEN = 1;
const PERFUSION_RED = 2;
const PERFUSION_YELLOW = 3;

/** A packet's perfusion is its worst frame's: red, then yellow, then green; none shown is "unknown". */
function worstPerfusion(seen: ReadonlySet<number>): string {
  if (seen.has(PERFUSION_RED)) return "red";
  if (seen.has(PERFUSION_YELLOW)) return "yellow";
  if (seen.has(PERFUSION_GREEN)) return "green";
  return "unknown";
}

/** Decodes one 125-byte packet into at most one spot sample (SpO2 and pulse rate, 4-beat averages). */
export function decodePacket(packet: Uint8Array) {
  if (packet.length < PACKET_BYTES)
    throw new HubError("FRAME_SHORT", `nonin packet is ${packet.length} bytes, needs ${PACKET_BYTES}`);
  if (packet.length > PACKET_BYTES)
    throw new HubError("FRAME_MALFORMED", `nonin packet is ${packet.length} bytes, expected ${PACKET_BYTES}`);
  const data: number[] = [];
  const perfusions = new Set<number>();
  let statusUnion = 0;
  for (let f = 0; f < FRAMES_PER_PACKET; f++) {
    const at = f * FRAME_BYTES;
    if (!frameValid(packet, at))
      throw new HubError("FRAME_CHECKSUM", `nonin frame ${f + 1}: bad start byte or checksum`);
    const status = packet[at + 1] as number;
    if (f === 0 && !bit(status, 0))
      throw new HubError("FRAME_MALFORMED", "nonin packet does not start with a SYNC frame");
    statusUnion |= status;
    perfusions.add((status >> 1) & 0x3);
    data.push(packet[at + 3] as number);
  }
  // Sensor off the finger or out of track: the numbers are not a measurement.
  if (bit(statusUnion, 6) || bit(statusUnion, 4)) return [];
  const hr = (((data[0] as number) & 0x03) << 7) | ((data[1] as number) & 0x7f);
  const spo2 = (data[2] as number) & 0x7f;
  const b = new DraftBuilder("spo2");
  if (spo2 !== MISSING_SPO2) b.add("spo2", spo2, "%");
  if (hr !== MISSING_HR) b.add("pulse-rate", hr, "/min");
  if (bit(statusUnion, 5)) b.flag("artifact");
  if (bit(statusUnion, 3)) b.flag("sensor-alarm");
  b.meta("perfusion", worstPerfusion(perfusions));
  return b.build();
}

/**
 * Cuts the stream into packets: slides one byte at a time until a start byte with a valid checksum,
 * and trusts frame positions only from a SYNC frame on. A bad frame mid-packet drops the packet.
 */
export function createNoninSession(): SerialSession {
  let buf = new Uint8Array(0);
  let packet: Uint8Array[] = [];
  return {
    push(bytes) {
      const joined = new Uint8Array(buf.length + bytes.length);
      joined.set(buf);
      joined.set(bytes, buf.length);
      let at = 0;
      let discarded = 0;
      const events: SessionEvent[] = [];
      while (joined.length - at >= FRAME_BYTES) {
        if (!frameValid(joined, at)) {
          at++;
          discarded += 1 + packet.length * FRAME_BYTES; // the byte, and the packet it broke
          packet = [];
          continue;
        }
        const frame = joined.subarray(at, at + FRAME_BYTES);
        at += FRAME_BYTES;
        const sync = bit(frame[1] as number, 0);
        if (sync) {
          discarded += packet.length * FRAME_BYTES;
          packet = [];
        }
        if (packet.length === 0 && !sync) {
          discarded += FRAME_BYTES;
          continue;
        }
        packet.push(frame);
        if (packet.length === FRAMES_PER_PACKET) {
          const whole = new Uint8Array(PACKET_BYTES);
          for (const [i, f] of packet.entries()) whole.set(f, i * FRAME_BYTES);
          packet = [];
          events.push({ drafts: decodePacket(whole) });
        }
      }
      buf = joined.slice(at);
      return { events, discarded };
    },
  };
}

export const driver: DriverDefinition = {
  id: "nonin-serial",
  description: "Nonin pulse oximeters, serial data format #2 (continuous, condensed before forwarding)",
  matcher: { transport: "serial", usb: [{ vendorId: "0403", productId: "6001" }] },
  serial: { baudRate: 9600, dataBits: 8, parity: "none", stopBits: 1 },
  continuous: true,
  decode: (frame) => decodePacket(frame),
  createSession: createNoninSession,
};
