import { createRequire } from "node:module";
import { HubError, messageOf } from "../../core/errors.js";

/** The part of hl7-standard (untyped, CommonJS) we use, behind our own types. */
interface RawSegment {
  get(path: string): unknown;
  /** The segment's line in the message. */
  index: number;
}
interface RawMessage {
  transform(): void;
  get(path: string): unknown;
  getSegments(name: string): RawSegment[];
}
type RawCtor = new (text: string) => RawMessage;

const HL7 = createRequire(import.meta.url)("hl7-standard") as RawCtor;

function text(v: unknown): string {
  if (typeof v === "string") return v;
  if (v && typeof v === "object") return String(Object.values(v as Record<string, unknown>)[0] ?? "");
  return "";
}

export interface IndependentSegment {
  get(path: string): string;
  /** The segments named `name` right after this one (e.g. the NTEs of an OBX), in order. */
  following(name: string): IndependentSegment[];
}

/**
 * An independent reading of a message by hl7-standard (values as it gives them, not unescaped): the
 * stand-in validates what the hub sends with it, so our builder is checked by a parser we did not write.
 */
export class IndependentHl7 {
  private readonly raw: RawMessage;

  constructor(message: string) {
    try {
      this.raw = new HL7(message);
      this.raw.transform();
    } catch (err) {
      // The parser's complaint may quote the text it was given (PKB's answer): never in the message.
      throw new HubError("PROTOCOL", "not an HL7 message", { cause: err, serverText: messageOf(err) });
    }
  }

  /** e.g. "MSH.9.1", "PID.3.1" */
  get(path: string): string {
    return text(this.raw.get(path));
  }

  segments(name: string): IndependentSegment[] {
    return this.raw.getSegments(name).map((s) => this.wrap(s));
  }

  /**
   * By line position: hl7-standard's getSegmentsAfter(…, consecutive) takes the first match even when
   * another segment comes between, and misses a segment that occurs only once in the message.
   */
  private following(start: RawSegment, name: string): RawSegment[] {
    const found: RawSegment[] = [];
    for (const s of this.raw.getSegments(name).sort((a, b) => a.index - b.index)) {
      if (s.index === start.index + found.length + 1) found.push(s);
    }
    return found;
  }

  private wrap(s: RawSegment): IndependentSegment {
    return {
      get: (path: string) => text(s.get(path)),
      following: (name: string) => this.following(s, name).map((n) => this.wrap(n)),
    };
  }
}
