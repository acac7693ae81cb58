import { describe, expect, it } from "vitest";
import {
  createNoninSession,
  decodePacket,
  FRAME_BYTES,
  FRAMES_PER_PACKET,
  frameValid,
  PACKET_BYTES,
} from "../../drivers/nonin-serial/index.js";
import type { SessionEvent } from "../../drivers/types.js";
import { only, refusal, spo2Only } from "./helpers.js";

// Nonin serial data format #2: frames `01 | status | pleth | data | checksum`, checksum = sum of the
// first four bytes mod 256. Status: bit7 always 1, bit6 sensor disconnected, bit5 artifact, bit4 out
// of track, bit3 sensor alarm, bits 2-1 perfusion (01 green, 11 yellow, 10 red), bit0 SYNC (frame 1).
// Data by position: 1 HR bits 8-7 (in bits 1-0), 2 HR bits 6-0, 3 SpO2.
const frame = (status: number, data = 0, pleth = 0x40) => [
  0x01,
  status,
  pleth,
  data,
  (1 + status + pleth + data) & 0xff,
];

/** A 25-frame packet: `status` for every frame (SYNC added to frame 1), data bytes by 1-based position. */
function packet(
  o: {
    status?: number;
    statuses?: Record<number, number>;
    hr?: number;
    spo2?: number;
    data?: Record<number, number>;
  } = {},
): number[] {
  const hr = o.hr ?? 72;
  const data: Record<number, number> = {
    1: (hr >> 7) & 0x03,
    2: hr & 0x7f,
    3: o.spo2 ?? 97,
    ...(o.data ?? {}),
  };
  const out: number[] = [];
  for (let i = 1; i <= FRAMES_PER_PACKET; i++) {
    const status = (o.statuses?.[i] ?? o.status ?? 0x82) | (i === 1 ? 0x01 : 0x00);
    out.push(...frame(status, data[i] ?? 0));
  }
  return out;
}
const decode = (bytes: number[]) => decodePacket(Uint8Array.from(bytes));

describe("Nonin frame check, byte by byte", () => {
  const good = frame(0x83, 0x00); // 01 83 40 00 C4
  it("a start byte 0x01, a status with bit 7 and the checksum make a valid frame", () => {
    expect(good).toEqual([0x01, 0x83, 0x40, 0x00, 0xc4]);
    expect(frameValid(Uint8Array.from(good), 0)).toBe(true);
    expect(frameValid(Uint8Array.from([0xaa, ...good]), 1)).toBe(true);
  });
  it.each([
    ["start byte 0x02", [0x02, 0x83, 0x40, 0x00, 0xc5]],
    ["status without bit 7", [0x01, 0x03, 0x40, 0x00, 0x44]],
    ["checksum off by one", [0x01, 0x83, 0x40, 0x00, 0xc5]],
  ])("%s is invalid", (_name, bytes) => {
    expect(frameValid(Uint8Array.from(bytes as number[]), 0)).toBe(false);
  });
  it("the checksum wraps modulo 256", () => {
    // 01 + FF + FF + FF = 0x2FE → FE
    expect(frameValid(Uint8Array.of(0x01, 0xff, 0xff, 0xff, 0xfe), 0)).toBe(true);
  });
  it("fewer than 5 bytes from the position is no frame", () => {
    expect(frameValid(Uint8Array.from(good.slice(0, 4)), 0)).toBe(false);
    expect(frameValid(Uint8Array.from([0, ...good]), 2)).toBe(false);
  });
});

describe("Nonin packet, field by field", () => {
  it("green perfusion, HR 72, SpO2 97", () => {
    expect(only(decode(packet()))).toEqual(spo2Only(97, 72, { perfusion: "green" }));
  });

  it("heart rate is 9 bits: frame 1 bits 1-0 are bits 8-7, frame 2 bits 6-0 the rest", () => {
    expect(only(decode(packet({ hr: 300 }))).values["pulse-rate"]).toBe(300); // 10 0101100
    expect(only(decode(packet({ hr: 128 }))).values["pulse-rate"]).toBe(128);
    expect(only(decode(packet({ hr: 510 }))).values["pulse-rate"]).toBe(510);
    // bits above those positions are not part of the rate
    expect(only(decode(packet({ data: { 1: 0xfc, 2: 0xc8 } }))).values["pulse-rate"]).toBe(72);
  });

  it("SpO2 is frame 3 bits 6-0", () => {
    expect(only(decode(packet({ spo2: 85 }))).values.spo2).toBe(85);
    expect(only(decode(packet({ data: { 3: 0x80 | 95 } }))).values.spo2).toBe(95);
  });

  it("a missing marker drops only its value: SpO2 127, HR 511; both missing is no reading", () => {
    expect(only(decode(packet({ spo2: 127 }))).values).toEqual({ "pulse-rate": 72 });
    expect(only(decode(packet({ hr: 511 }))).values).toEqual({ spo2: 97 });
    expect(decode(packet({ spo2: 127, hr: 511 }))).toEqual([]);
    expect(only(decode(packet({ spo2: 126, hr: 510 }))).values).toEqual({ spo2: 126, "pulse-rate": 510 });
  });

  it.each([
    ["sensor disconnected (bit 6)", 0xc2],
    ["out of track (bit 4)", 0x92],
  ])("%s in any frame: no reading", (_name, status) => {
    expect(decode(packet({ statuses: { 7: status } }))).toEqual([]);
  });

  it("artifact (bit 5) and sensor alarm (bit 3) in any frame are flagged", () => {
    expect(only(decode(packet({ statuses: { 4: 0xa2 } }))).flags).toEqual(["artifact"]);
    expect(only(decode(packet({ statuses: { 25: 0x8a } }))).flags).toEqual(["sensor-alarm"]);
    expect(only(decode(packet({ statuses: { 2: 0xa2, 3: 0x8a } }))).flags).toEqual([
      "artifact",
      "sensor-alarm",
    ]);
  });

  it.each([
    ["green (01)", { status: 0x82 }, "green"],
    ["yellow (11)", { status: 0x86 }, "yellow"],
    ["red (10)", { status: 0x84 }, "red"],
    ["none shown (00)", { status: 0x80 }, "unknown"],
    ["green with one red frame: the worst", { status: 0x82, statuses: { 9: 0x84 } }, "red"],
    ["green with one yellow frame", { status: 0x82, statuses: { 9: 0x86 } }, "yellow"],
    ["yellow with one red frame", { status: 0x86, statuses: { 20: 0x84 } }, "red"],
    ["none shown with one green frame", { status: 0x80, statuses: { 20: 0x82 } }, "green"],
  ])("perfusion %s", (_name, o, perfusion) => {
    expect(only(decode(packet(o))).meta).toEqual({ perfusion });
  });

  it("a packet must be exactly 125 bytes and start with a SYNC frame; every frame is checked", () => {
    expect(PACKET_BYTES).toBe(FRAME_BYTES * FRAMES_PER_PACKET);
    expect(refusal(() => decode(packet().slice(0, 124)))).toBe("FRAME_SHORT");
    expect(refusal(() => decode([...packet(), 0x00]))).toBe("FRAME_MALFORMED");
    expect(() => decode(packet().slice(0, 124))).toThrow("nonin packet is 124 bytes, needs 125");
    expect(() => decode([...packet(), 0x00])).toThrow("nonin packet is 126 bytes, expected 125");
    const noSync = packet();
    noSync[1] = 0x82;
    noSync[4] = (1 + 0x82 + 0x40 + (noSync[3] as number)) & 0xff;
    expect(() => decode(noSync)).toThrow("nonin packet does not start with a SYNC frame");
    expect(refusal(() => decode(noSync))).toBe("FRAME_MALFORMED");
    for (const f of [0, 12, 24]) {
      const bad = packet();
      bad[f * 5 + 4] = ((bad[f * 5 + 4] as number) + 1) & 0xff;
      expect(() => decode(bad)).toThrow(`nonin frame ${f + 1}: bad start byte or checksum`);
    }
  });
});

describe("Nonin session: cutting and resynchronising the stream", () => {
  const run = (chunks: number[][]) => {
    const s = createNoninSession();
    const events: SessionEvent[] = [];
    let discarded = 0;
    for (const c of chunks) {
      const out = s.push(Uint8Array.from(c));
      events.push(...out.events);
      discarded += out.discarded;
    }
    return {
      values: events.flatMap((e) => e.drafts.map((d) => d.components.map((c) => c.value))),
      discarded,
    };
  };

  it("cuts packets whatever the chunking, with nothing discarded", () => {
    const stream = [...packet({ spo2: 95 }), ...packet({ spo2: 96 }), ...packet({ spo2: 97 })];
    for (const size of [1, 4, 5, 7, 125, 375]) {
      const chunks: number[][] = [];
      for (let i = 0; i < stream.length; i += size) chunks.push(stream.slice(i, i + size));
      expect(run(chunks), `chunks of ${size}`).toEqual({
        values: [
          [95, 72],
          [96, 72],
          [97, 72],
        ],
        discarded: 0,
      });
    }
  });

  it("slides over noise one byte at a time", () => {
    // 55 (no start byte), 01 02 (status without bit 7), 01 83 40 00 00 (bad checksum): 8 bytes
    expect(run([[0x55, 0x01, 0x02, 0x01, 0x83, 0x40, 0x00, 0x00, ...packet()]])).toEqual({
      values: [[97, 72]],
      discarded: 8,
    });
  });

  it("trusts frame positions only from a SYNC frame: frames before it are discarded whole", () => {
    // the stream starts 20 frames into a packet: 5 frames (25 bytes) without SYNC, then a packet
    expect(run([[...packet().slice(100), ...packet({ spo2: 94 })]])).toEqual({
      values: [[94, 72]],
      discarded: 25,
    });
  });

  it("a corrupted frame drops its packet; decoding resumes at the next SYNC", () => {
    const corrupted = packet({ spo2: 90 });
    corrupted[13] = 0xff; // frame 3's data byte: checksum wrong
    // frames 1-2 (10 bytes) dropped; frame 3 slid over byte by byte (5); frames 4-25 without SYNC (110)
    expect(run([[...corrupted, ...packet({ spo2: 91 })]])).toEqual({ values: [[91, 72]], discarded: 125 });
  });

  it("frames after a broken one never fill a packet with shifted positions", () => {
    const a = packet({ spo2: 90 });
    a[13] = 0xff; // packet A, frame 3 broken
    const b = packet({ spo2: 91 });
    b[4] = ((b[4] as number) + 1) & 0xff; // packet B, its SYNC frame broken
    // A's frames 1, 2, 4-25 and B's frame 2 would make 25 frames with the SpO2 in the wrong place:
    // only packet C is a reading.
    expect(run([[...a, ...b, ...packet({ spo2: 92 })]])).toEqual({ values: [[92, 72]], discarded: 250 });
  });

  it("a whole packet without its SYNC frame is discarded, never decoded from the wrong start", () => {
    const a = packet({ spo2: 90 });
    a[4] = ((a[4] as number) + 1) & 0xff;
    expect(run([[...a, ...packet({ spo2: 92 })]])).toEqual({ values: [[92, 72]], discarded: 125 });
  });

  it("25 valid frames without a SYNC bit are never taken for a packet", () => {
    const noSync = packet({ spo2: 90 });
    noSync[1] = 0x82;
    noSync[4] = (1 + 0x82 + 0x40 + (noSync[3] as number)) & 0xff;
    expect(run([[...noSync, ...packet({ spo2: 92 })]])).toEqual({ values: [[92, 72]], discarded: 125 });
  });

  it("a SYNC frame before 25 frames starts a new packet and discards the short one", () => {
    const short = packet({ spo2: 90 }).slice(0, 50); // 10 frames
    expect(run([[...short, ...packet({ spo2: 92 })]])).toEqual({ values: [[92, 72]], discarded: 50 });
  });

  it("keeps a partial frame across pushes", () => {
    const p = packet({ spo2: 93 });
    expect(run([p.slice(0, 3), p.slice(3, 124), p.slice(124)])).toEqual({ values: [[93, 72]], discarded: 0 });
  });

  it("a packet with the sensor off yields an event without readings", () => {
    const s = createNoninSession();
    const out = s.push(Uint8Array.from(packet({ status: 0xc2 })));
    expect(out.events).toEqual([{ drafts: [] }]);
  });
});
