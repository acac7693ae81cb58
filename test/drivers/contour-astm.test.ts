import { describe, expect, it } from "vitest";
import {
  ACK,
  AstmSplitter,
  buildFrame,
  CR,
  checksumHex,
  ENQ,
  EOT,
  ETB,
  ETX,
  LF,
  NAK,
  parseFrame,
  STX,
} from "../../drivers/contour-serial/astm.js";
import { createContourSession } from "../../drivers/contour-serial/index.js";
import { AstmReceiver } from "../../drivers/contour-serial/link.js";
import type { SessionEvent } from "../../drivers/types.js";
import { refusal } from "./helpers.js";

const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));

describe("ASTM E1381 frame, byte by byte", () => {
  // STX | "1" | "R|1" | ETX | checksum over "1R|1" + ETX | CR LF
  // 0x31 + 0x52 + 0x7C + 0x31 + 0x03 = 0x133 → 0x33 → "33"
  const good = Uint8Array.from([STX, ...ascii("1R|1"), ETX, ...ascii("33"), CR, LF]);

  it("builds and parses the smallest record frame, checksum from the frame number to ETX inclusive", () => {
    expect([...buildFrame(1, "R|1")]).toEqual([...good]);
    expect(parseFrame(good)).toEqual({ frameNumber: 1, text: "R|1", final: true });
    expect(checksumHex(good, 1, 5)).toBe("33");
  });

  it("ETB marks an intermediate frame; its byte counts in the checksum", () => {
    // 0x31 + 0x52 + 0x7C + 0x31 + 0x17 = 0x147 → "47"
    const f = buildFrame(1, "R|1", false);
    expect([...f]).toEqual([STX, ...ascii("1R|1"), ETB, ...ascii("47"), CR, LF]);
    expect(parseFrame(f)).toEqual({ frameNumber: 1, text: "R|1", final: false });
  });

  it("says what is wrong with a frame", () => {
    const f = [...good];
    const damaged = (i: number, b: number) => Uint8Array.from(f.map((x, j) => (j === i ? b : x)));
    expect(() => parseFrame(good.subarray(0, 6))).toThrow("ASTM frame is 6 bytes");
    expect(() => parseFrame(buildFrame(1, "x".repeat(241)))).toThrow(
      "ASTM frame is 248 bytes, more than 247",
    );
    expect(() => parseFrame(damaged(0, 0x01))).toThrow("ASTM frame does not start with STX");
    expect(() => parseFrame(damaged(5, 0x04))).toThrow("ASTM frame has no ETX/ETB before its checksum");
    expect(() => parseFrame(damaged(8, 0x20))).toThrow("ASTM frame does not end with checksum CR LF");
    expect(() => parseFrame(damaged(7, 0x34))).toThrow("ASTM frame checksum mismatch");
    expect(() => parseFrame(buildFrameRaw(0x38, "R|1"))).toThrow("ASTM frame number is not 0-7");
    expect(() => parseFrame(buildFrame(1, "R|\u0005"))).toThrow(
      "ASTM frame text holds control character 0x5",
    );
  });

  it("a frame with no text is 7 bytes and valid; 6 bytes is FRAME_SHORT", () => {
    // "0" + ETX = 0x30 + 0x03 = 0x33
    const empty = Uint8Array.from([STX, 0x30, ETX, ...ascii("33"), CR, LF]);
    expect(parseFrame(empty)).toEqual({ frameNumber: 0, text: "", final: true });
    expect(refusal(() => parseFrame(empty.subarray(1)))).toBe("FRAME_SHORT");
  });

  it("checksums wrap modulo 256 and are two upper-case hex digits, zero-padded", () => {
    expect(checksumHex([0xff, 0x01], 0, 1)).toBe("00");
    expect(checksumHex([0x05], 0, 0)).toBe("05");
    expect(checksumHex([0xfa, 0x01], 0, 1)).toBe("FB");
    expect(checksumHex([0x10, 0x20, 0x30], 1, 1)).toBe("20"); // only the given range counts
  });

  it.each([
    ["no STX", (f: number[]) => f.splice(0, 1, 0x01), "FRAME_MALFORMED"],
    ["terminator neither ETX nor ETB", (f: number[]) => f.splice(5, 1, 0x04), "FRAME_MALFORMED"],
    ["CR missing before LF", (f: number[]) => f.splice(8, 1, 0x20), "FRAME_MALFORMED"],
    ["LF missing at the end", (f: number[]) => f.splice(9, 1, 0x20), "FRAME_MALFORMED"],
    ["checksum digit wrong", (f: number[]) => f.splice(7, 1, 0x34), "FRAME_CHECKSUM"],
    ["checksum in lower case", (f: number[]) => f.splice(6, 2, ...ascii("3a")), "FRAME_CHECKSUM"],
    ["one text byte changed", (f: number[]) => f.splice(3, 1, 0x7d), "FRAME_CHECKSUM"],
  ])("%s", (_name, damage, code) => {
    const f = [...good];
    damage(f);
    expect(refusal(() => parseFrame(Uint8Array.from(f)))).toBe(code);
  });

  it("a frame number outside 0-7 is FRAME_MALFORMED even with a matching checksum", () => {
    expect(refusal(() => parseFrame(buildFrameRaw(0x38, "R|1")))).toBe("FRAME_MALFORMED"); // "8"
    expect(refusal(() => parseFrame(buildFrameRaw(0x2f, "R|1")))).toBe("FRAME_MALFORMED"); // "/"
    expect(parseFrame(buildFrameRaw(0x37, "R|1")).frameNumber).toBe(7);
    expect(parseFrame(buildFrameRaw(0x30, "R|1")).frameNumber).toBe(0);
  });

  it("text holds printable characters and CR only: a control character is FRAME_MALFORMED", () => {
    expect(parseFrame(buildFrame(1, "R|1\r")).text).toBe("R|1\r");
    expect(parseFrame(buildFrame(1, " ~\u00e9")).text).toBe(" ~\u00e9");
    for (const c of [0x00, 0x02, 0x05, 0x09, 0x0a, 0x1f, 0x7f]) {
      expect(
        refusal(() => parseFrame(buildFrame(1, `R|${String.fromCharCode(c)}`))),
        `0x${c}`,
      ).toBe("FRAME_MALFORMED");
    }
  });

  it("240 text characters (247 bytes) is the longest frame; one more is FRAME_MALFORMED", () => {
    expect(parseFrame(buildFrame(1, "x".repeat(240))).text).toHaveLength(240);
    expect(refusal(() => parseFrame(buildFrame(1, "x".repeat(241))))).toBe("FRAME_MALFORMED");
  });
});

/** A frame with an arbitrary frame-number byte and a correct checksum. */
function buildFrameRaw(fnByte: number, text: string): Uint8Array {
  const body = [fnByte, ...ascii(text), ETX];
  const cs = checksumHex(body, 0, body.length - 1);
  return Uint8Array.from([STX, ...body, ...ascii(cs), CR, LF]);
}

describe("ASTM stream splitter", () => {
  const frame = buildFrame(1, "R|1\r");

  it("cuts frames and control bytes whatever the chunking, counting noise", () => {
    const s = new AstmSplitter();
    const stream = [0x41, ENQ, ...frame, 0x20, ...frame, EOT];
    const items: number[][] = [];
    let discarded = 0;
    for (const b of stream) {
      const out = s.push(Uint8Array.of(b));
      items.push(...out.items.map((i) => [...i]));
      discarded += out.discarded;
    }
    expect(items).toEqual([[ENQ], [...frame], [...frame], [EOT]]);
    expect(discarded).toBe(2); // 0x41 before ENQ, 0x20 between frames
  });

  it("a new STX, ENQ or EOT cuts a frame short: the cut part is noise", () => {
    const s = new AstmSplitter();
    const cut = frame.subarray(0, 5);
    const out = s.push(Uint8Array.from([...cut, ...frame, ...cut, ENQ, ...cut, EOT]));
    expect(out.items.map((i) => [...i])).toEqual([[...frame], [ENQ], [EOT]]);
    expect(out.discarded).toBe(15);
  });

  it("a frame running past 247 bytes without LF is dropped and the splitter resynchronises", () => {
    const s = new AstmSplitter();
    const long = [STX, ...new Array(246).fill(0x41)];
    const out = s.push(Uint8Array.from([...long, 0x41, ...frame]));
    expect(out.items.map((i) => [...i])).toEqual([[...frame]]);
    expect(out.discarded).toBe(248);
  });

  it("noise between frames is dropped even when it holds an LF (never taken for a frame)", () => {
    const s = new AstmSplitter();
    const out = s.push(Uint8Array.from([0x41, LF, ...frame, 0x42, 0x43, LF, ENQ]));
    expect(out.items.map((i) => [...i])).toEqual([[...frame], [ENQ]]);
    expect(out.discarded).toBe(5);
  });

  it("248 bytes from STX to LF is no frame: dropped, not handed on", () => {
    const s = new AstmSplitter();
    const out = s.push(Uint8Array.from([STX, ...new Array(246).fill(0x41), LF, ...frame]));
    expect(out.items.map((i) => [...i])).toEqual([[...frame]]);
    expect(out.discarded).toBe(248);
  });

  it("a frame of exactly 247 bytes ending in LF is kept", () => {
    const s = new AstmSplitter();
    const max = buildFrame(1, "x".repeat(240));
    expect(max).toHaveLength(247);
    expect(s.push(max).items.map((i) => i.length)).toEqual([247]);
  });
});

describe("ASTM E1381 receiver: frame numbers", () => {
  const frame = (n: number, text: string, final = false) => buildFrame(n, text, final);

  it("after ENQ accepts 1, then each next number modulo 8 (7 → 0 → 1)", () => {
    const r = new AstmReceiver();
    expect(r.receive(Uint8Array.of(ENQ))).toEqual({ kind: "establish" });
    const got: string[] = [];
    for (let i = 1; i <= 10; i++) {
      const out = r.receive(frame(i % 8, `R|${i}\r`));
      expect(out.kind, `frame ${i}`).toBe("records");
      if (out.kind === "records") got.push(...out.records);
    }
    expect(got).toEqual(Array.from({ length: 10 }, (_, i) => `R|${i + 1}`));
  });

  it("a repeat of the last accepted frame is ACKed and not decoded again", () => {
    const r = new AstmReceiver();
    r.receive(Uint8Array.of(ENQ));
    expect(r.receive(frame(1, "R|1\r")).kind).toBe("records");
    expect(r.receive(frame(1, "R|1\r"))).toEqual({ kind: "repeat" });
    expect(r.receive(frame(1, "R|1\r"))).toEqual({ kind: "repeat" });
    const next = r.receive(frame(2, "R|2\r"));
    expect(next.kind === "records" && next.records).toEqual(["R|2"]);
  });

  it("a skipped or stale number is rejected; the expected frame is then still accepted", () => {
    const r = new AstmReceiver();
    r.receive(Uint8Array.of(ENQ));
    const first = r.receive(frame(2, "R|2\r")); // the first frame must be 1
    expect(first.kind === "reject" && first.error.code).toBe("FRAME_MALFORMED");
    expect(r.receive(frame(0, "R|0\r")).kind).toBe("reject"); // 0 is no repeat before anything was accepted
    expect(r.receive(frame(1, "R|1\r")).kind).toBe("records");
    expect(r.receive(frame(3, "R|3\r")).kind).toBe("reject"); // 2 skipped
    expect(r.receive(frame(0, "R|0\r")).kind).toBe("reject"); // neither 1 nor 2
    expect(r.receive(frame(2, "R|2\r")).kind).toBe("records");
  });

  it("frames outside a transfer (before ENQ, after EOT) are ignored, not answered", () => {
    const r = new AstmReceiver();
    const before = r.receive(frame(1, "R|1\r"));
    expect(before.kind === "ignore" && before.error.code).toBe("FRAME_MALFORMED");
    expect(before.kind === "ignore" && before.error.message).toBe("ASTM frame outside a transfer (no ENQ)");
    r.receive(Uint8Array.of(ENQ));
    r.receive(frame(1, "R|1\r"));
    expect(r.receive(Uint8Array.of(EOT))).toEqual({ kind: "end", droppedText: "" });
    expect(r.receive(frame(2, "R|2\r")).kind).toBe("ignore");
  });

  it("a new ENQ starts over at frame 1 and forgets a half record", () => {
    const r = new AstmReceiver();
    r.receive(Uint8Array.of(ENQ));
    r.receive(frame(1, "R|1\r"));
    r.receive(frame(2, "R|2|half"));
    r.receive(Uint8Array.of(ENQ));
    const out = r.receive(frame(1, "R|9\r"));
    expect(out.kind === "records" && out.records).toEqual(["R|9"]);
  });

  it("a record spanning frames is complete at its CR; text after the last CR waits (ETB) or ends (ETX)", () => {
    const r = new AstmReceiver();
    r.receive(Uint8Array.of(ENQ));
    const a = r.receive(frame(1, "H|x\rR|1|^^^Gl"));
    expect(a.kind === "records" && a.records).toEqual(["H|x"]);
    const b = r.receive(frame(2, "ucose\rR|2"));
    expect(b.kind === "records" && b.records).toEqual(["R|1|^^^Glucose"]);
    const c = r.receive(frame(3, "|x", true)); // ETX: the rest is the last record
    expect(c.kind === "records" && c.records).toEqual(["R|2|x"]);
    const d = r.receive(frame(4, "L|1\r", true));
    expect(d.kind === "records" && d.records).toEqual(["L|1"]);
  });

  it("EOT inside a record reports the dropped text", () => {
    const r = new AstmReceiver();
    r.receive(Uint8Array.of(ENQ));
    r.receive(frame(1, "R|1\rR|2|ha"));
    expect(r.receive(Uint8Array.of(EOT))).toEqual({ kind: "end", droppedText: "R|2|ha" });
  });

  it("a rejected frame keeps a half record: the re-sent frame completes it", () => {
    const r = new AstmReceiver();
    r.receive(Uint8Array.of(ENQ));
    r.receive(frame(1, "R|1|^^^Gl"));
    const bad = frame(2, "ucose\r");
    bad[3] = 0x41; // damaged in transit: checksum no longer matches
    expect(r.receive(bad).kind).toBe("reject");
    const again = r.receive(frame(2, "ucose\r"));
    expect(again.kind === "records" && again.records).toEqual(["R|1|^^^Glucose"]);
  });

  it("rollback forgets an accepted frame: its re-sent copy is decoded again, not taken for a repeat", () => {
    const r = new AstmReceiver();
    r.receive(Uint8Array.of(ENQ));
    r.receive(frame(1, "R|1|^^^Gl"));
    const accepted = r.receive(frame(2, "ucose\rR|2|^^"));
    if (accepted.kind !== "records") throw new Error(accepted.kind);
    accepted.rollback();
    const again = r.receive(frame(2, "ucose\rR|2|^^"));
    expect(again.kind === "records" && again.records).toEqual(["R|1|^^^Glucose"]);
    const next = r.receive(frame(3, "^Glucose\r"));
    expect(next.kind === "records" && next.records).toEqual(["R|2|^^^Glucose"]);
  });
});

describe("Contour download session", () => {
  const rec = (n: number, value: number) => `R|${n}|^^^Glucose|${value}|mg/dL^P||B||2026112408${n}0\r`;
  const values = (events: SessionEvent[]) =>
    events.flatMap((e) => e.drafts.map((d) => d.components[0]?.value));
  const replies = (events: SessionEvent[]) => events.map((e) => (e.reply ? e.reply[0] : undefined));

  it("one corrupted frame mid-download keeps the records already received; the re-sent frame is added", () => {
    const s = createContourSession();
    // Contour style: every record its own frame, ETB until the last (L, ETX).
    const frames = [
      buildFrame(1, "H|\\^&||x|Bayer7390^01.24^7390-1234567^7403-|A=1|3||||||P|1|202611241200\r", false),
      buildFrame(2, "P|1\r", false),
      buildFrame(3, rec(1, 101), false),
      buildFrame(4, rec(2, 102), false),
      buildFrame(5, rec(3, 103), false),
      buildFrame(6, "L|1||N\r", true),
    ];
    const corrupted = (frames[3] as Uint8Array).slice();
    corrupted[10] = 0x39; // one digit of record 2 changed in transit
    const events: SessionEvent[] = [];
    events.push(...s.push(Uint8Array.of(ENQ)).events);
    for (const f of frames.slice(0, 3)) events.push(...s.push(f).events);
    const nak = s.push(corrupted).events;
    expect(replies(nak)).toEqual([NAK]);
    expect(nak[0]?.error?.code).toBe("FRAME_CHECKSUM");
    for (const f of frames.slice(3)) events.push(...s.push(f).events);
    events.push(...s.push(Uint8Array.of(EOT)).events);
    expect(values(events)).toEqual([101, 102, 103]);
    expect(replies(events)).toEqual([ACK, ACK, ACK, ACK, ACK, ACK, ACK]);
    expect(events[1]?.deviceSerial).toBe("7390-1234567");
    expect(events[1]?.deviceClock).toEqual({
      year: 2026,
      month: 11,
      day: 24,
      hours: 12,
      minutes: 0,
      seconds: 0,
    });
  });

  it("a header without serial or clock sets neither", () => {
    const s = createContourSession();
    s.push(Uint8Array.of(ENQ));
    const [event] = s.push(buildFrame(1, "H|\\^&\r", false)).events;
    expect(event && "deviceSerial" in event).toBe(false);
    expect(event && "deviceClock" in event).toBe(false);
    expect(event?.drafts).toEqual([]);
  });

  it("each record is decoded when its frame arrives (ETB), not held until the end of the message", () => {
    const s = createContourSession();
    s.push(Uint8Array.of(ENQ));
    const ev = s.push(buildFrame(1, rec(1, 101), false)).events;
    expect(values(ev)).toEqual([101]);
    expect(replies(ev)).toEqual([ACK]);
  });

  it("a repeated frame is ACKed but its record is not decoded twice", () => {
    const s = createContourSession();
    s.push(Uint8Array.of(ENQ));
    const f = buildFrame(1, rec(1, 101), false);
    const first = s.push(f).events;
    const again = s.push(f).events;
    expect(values(first)).toEqual([101]);
    expect(again).toEqual([{ drafts: [], reply: Uint8Array.of(ACK) }]);
  });

  it("a skipped frame number is NAKed and nothing is decoded from it", () => {
    const s = createContourSession();
    s.push(Uint8Array.of(ENQ));
    s.push(buildFrame(1, rec(1, 101), false));
    const skipped = s.push(buildFrame(3, rec(3, 103), false)).events;
    expect(replies(skipped)).toEqual([NAK]);
    expect(values(skipped)).toEqual([]);
    expect(skipped[0]?.error?.message).toContain("expected 2");
  });

  it("a record the decoder refuses in an intact frame is ACKed with the error, so the download goes on", () => {
    const s = createContourSession();
    s.push(Uint8Array.of(ENQ));
    const ev = s.push(
      buildFrame(1, `R|1|^^^Glucose|12x|mg/dL^P||||202611240810\r${rec(2, 102)}`, false),
    ).events;
    expect(replies(ev)).toEqual([ACK]);
    expect(ev[0]?.error?.code).toBe("FRAME_MALFORMED");
    expect(values(ev)).toEqual([102]);
  });

  it("a frame before ENQ gets no answer; EOT inside a record reports FRAME_SHORT", () => {
    const s = createContourSession();
    const early = s.push(buildFrame(1, rec(1, 101), false)).events;
    expect(early).toStrictEqual([
      { drafts: [], error: expect.objectContaining({ code: "FRAME_MALFORMED" }) },
    ]);
    expect(early[0]?.error?.message).toBe("ASTM frame outside a transfer (no ENQ)");
    s.push(Uint8Array.of(ENQ));
    s.push(buildFrame(1, "R|1|^^^Glu", false));
    const end = s.push(Uint8Array.of(EOT)).events;
    expect(end).toStrictEqual([{ drafts: [], error: expect.objectContaining({ code: "FRAME_SHORT" }) }]);
    expect(end[0]?.error?.message).toBe("transfer ended inside a record");
    expect(s.push(Uint8Array.of(EOT)).events).toEqual([]); // nothing pending: a plain end
  });

  it("the rollback of an event makes the re-sent frame decode again", () => {
    const s = createContourSession();
    s.push(Uint8Array.of(ENQ));
    const f = buildFrame(1, rec(1, 101), false);
    const [event] = s.push(f).events;
    event?.rollback?.();
    expect(values(s.push(f).events)).toEqual([101]);
  });
});
