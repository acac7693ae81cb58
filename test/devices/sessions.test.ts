import { describe, expect, it } from "vitest";
import { Condenser } from "../../drivers/condense.js";
import { ACK, buildFrame, ENQ, EOT, NAK } from "../../drivers/contour-serial/astm.js";
import { createContourSession } from "../../drivers/contour-serial/index.js";
import { FIXTURES, hexBytes } from "../../drivers/fixtures.js";
import { createNoninSession } from "../../drivers/nonin-serial/index.js";
import type { ReadingDraft } from "../../src/core/reading.js";

const packet = hexBytes(FIXTURES["nonin-serial"]?.[0]?.hex ?? "");

describe("Nonin session", () => {
  it("cuts a stream into packets whatever the chunking", () => {
    const s = createNoninSession();
    const stream = new Uint8Array([...packet, ...packet, ...packet]);
    const drafts: ReadingDraft[] = [];
    for (let i = 0; i < stream.length; i += 7) {
      for (const e of s.push(stream.subarray(i, i + 7)).events) drafts.push(...e.drafts);
    }
    expect(drafts).toHaveLength(3);
    expect(drafts[0]?.components.map((c) => c.value)).toEqual([97, 72]);
  });

  it("resynchronises after noise and a corrupted frame, trusting positions only from a SYNC frame", () => {
    const s = createNoninSession();
    const corrupted = packet.slice();
    corrupted[12] = (corrupted[12] as number) ^ 0xff; // frame 3's data byte: checksum now wrong
    const stream = new Uint8Array([0x55, 0x01, 0x02, ...packet.subarray(60), ...corrupted, ...packet]);
    const out = s.push(stream);
    const drafts = out.events.flatMap((e) => e.drafts);
    // Only the final intact packet is decoded: the partial one and the corrupted one are dropped.
    expect(drafts).toHaveLength(1);
    expect(out.discarded).toBeGreaterThan(0);
  });
});

describe("Contour ASTM session", () => {
  const enc = (s: string) => buildFrame(1, `${s}\r`);

  it("ACKs ENQ, decodes records at ETX, joins ETB continuations, resets at EOT", () => {
    const s = createContourSession();
    expect(s.push(Uint8Array.of(ENQ)).events).toEqual([{ drafts: [], reply: Uint8Array.of(ACK) }]);
    const header = s.push(enc("H|\\^&||x|Bayer7390^01.24^7390-1234567^7403-|A=1|5||||||P|1|202611241200"))
      .events[0];
    expect(header?.deviceSerial).toBe("7390-1234567");
    expect(header?.deviceClock).toMatchObject({ year: 2026, month: 11, day: 24, hours: 12 });
    const record = "R|1|^^^Glucose|105|mg/dL^P||A||202611241130";
    expect(s.push(buildFrame(2, record.slice(0, 10), false)).events[0]?.reply).toEqual(Uint8Array.of(ACK));
    const done = s.push(buildFrame(3, `${record.slice(10)}\r`)).events[0];
    expect(done?.drafts[0]?.components[0]).toEqual({ id: "glucose", value: 105, unit: "mg/dL" });
    expect(done?.drafts[0]?.meta).toMatchObject({ marker: "after-meal" });
    expect(s.push(Uint8Array.of(EOT)).events).toEqual([]);
  });

  it("NAKs a frame with a bad checksum so the meter re-sends it", () => {
    const s = createContourSession();
    s.push(Uint8Array.of(ENQ));
    const bad = enc("R|1|^^^Glucose|105|mg/dL^P||||202611241130");
    bad[bad.length - 4] = 0x30;
    const ev = s.push(bad).events[0];
    expect(ev?.reply).toEqual(Uint8Array.of(NAK));
    expect(ev?.error?.code).toBe("FRAME_CHECKSUM");
    expect(ev?.drafts).toEqual([]);
  });
});

describe("condensing a continuous stream", () => {
  const sample = (spo2: number): ReadingDraft => ({
    kind: "spo2",
    components: [
      { id: "spo2", value: spo2, unit: "%" },
      { id: "pulse-rate", value: 70, unit: "/min" },
    ],
  });

  it("one spot reading (median) per window; a short window yields nothing", () => {
    const c = new Condenser({ windowMs: 10_000, minSamples: 5 });
    const out = [];
    for (let t = 0; t <= 20_000; t += 1000) {
      const r = c.push(sample(t < 10_000 ? 95 + (t % 3000) / 1000 : 90), t);
      if (r) out.push(r);
    }
    expect(out).toHaveLength(2);
    expect(out[0]?.draft.components[0]).toEqual({ id: "spo2", value: 96, unit: "%" });
    expect(out[0]?.draft.flags).toContain("condensed");
    expect(c.flush(21_000)).toBeUndefined(); // one sample left: not a reading
  });
});
