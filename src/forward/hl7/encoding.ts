/**
 * HL7 v2 encoding with the standard delimiters (| ^ ~ \ &). Why not hl7-standard's builder: it
 * writes values as given (a "|" or "^" in a name silently shifts every later field), never
 * unescapes when parsing, and joins segments with CRLF where HL7 and PKB want CR — checked
 * against hl7-standard 1.0.4. So messages are encoded here, each value escaped exactly once at
 * the leaf, and hl7-standard is kept as an independent parser to check our output (standard.ts).
 */
export const SEGMENT_SEPARATOR = "\r";

/**
 * Everything escaped on the way out: the five delimiters, line breaks (as `\.br\`), and the other
 * control characters (tab aside), which cannot travel in the XML (SOAP) that carries the message
 * (as `\Xhh\`). One pass over the text, which comes back as it was when nothing needs escaping
 * (base64 content, most values): a 40 MB document is not rebuilt character by character.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is escaped
const NEEDS_ESCAPE = /\r\n|[\\|^&~\u0000-\u0008\u000a-\u001f\u007f]/g;

const ESCAPES: Readonly<Record<string, string>> = {
  "\\": "\\E\\",
  "|": "\\F\\",
  "^": "\\S\\",
  "&": "\\T\\",
  "~": "\\R\\",
  "\r\n": "\\.br\\",
  "\r": "\\.br\\",
  "\n": "\\.br\\",
};

function escapeOne(found: string): string {
  return ESCAPES[found] ?? `\\X${found.charCodeAt(0).toString(16).padStart(2, "0").toUpperCase()}\\`;
}

export function escapeHl7(text: string): string {
  return text.replace(NEEDS_ESCAPE, escapeOne);
}

/** The delimiters of a message: the standard ones, or those its MSH declares. */
export interface Delimiters {
  field: string;
  component: string;
  repetition: string;
  escape: string;
  sub: string;
}

export const STANDARD_DELIMITERS: Delimiters = {
  field: "|",
  component: "^",
  repetition: "~",
  escape: "\\",
  sub: "&",
};

/**
 * A received value with its escape sequences resolved, for the delimiters its message declares:
 * `\F\` is that message's field separator, and so on; `\.br\` a line break; `\Xhh..\` bytes.
 */
export function unescapeHl7(text: string, d: Delimiters = STANDARD_DELIMITERS): string {
  const e = d.escape.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const sequence = new RegExp(`${e}(E|F|S|T|R|\\.br|X[0-9A-Fa-f]+)${e}`, "g");
  const named: Readonly<Record<string, string>> = {
    E: d.escape,
    F: d.field,
    S: d.component,
    T: d.sub,
    R: d.repetition,
    ".br": "\n",
  };
  return text.replace(
    sequence,
    (_m, code: string) => named[code] ?? Buffer.from(code.slice(1), "hex").toString("latin1"),
  );
}

/** A field: a plain value, or components (each a value or subcomponents). Undefined = empty. */
export type Component = string | undefined | Array<string | undefined>;
export type Field = string | undefined | Component[];

function encodeComponent(c: Component): string {
  if (Array.isArray(c)) return c.map((s) => escapeHl7(s ?? "")).join("&");
  return escapeHl7(c ?? "");
}

/** `text` without trailing `ch`s; a loop, not a regex, as a document field may be 40 MB long. */
function trimEnd(text: string, ch: string): string {
  let end = text.length;
  while (end > 0 && text[end - 1] === ch) end--;
  return end === text.length ? text : text.slice(0, end);
}

function encodeField(f: Field): string {
  if (Array.isArray(f)) return trimEnd(f.map(encodeComponent).join("^"), "^");
  return escapeHl7(f ?? "");
}

/** One segment. For MSH, pass the fields from MSH-3 on: MSH-1/2 are written here. */
export function segment(name: string, fields: Field[]): string {
  const body = trimEnd(fields.map(encodeField).join("|"), "|");
  return name === "MSH" ? `MSH|^~\\&|${body}` : `${name}|${body}`;
}

export function message(segments: string[]): string {
  return segments.join(SEGMENT_SEPARATOR);
}

/**
 * The delimiters a message declares in MSH-1/MSH-2 (PKB uses the standard ones, but an answer is
 * read as it says): five distinct characters, none a letter, digit or space; else the standard ones.
 */
function delimitersOf(text: string): Delimiters {
  const declared = text.slice(3, 8);
  if (!text.startsWith("MSH") || !/^[^\w\s]{5}$/.test(declared) || new Set(declared).size !== 5)
    return STANDARD_DELIMITERS;
  return {
    field: declared.charAt(0),
    component: declared.charAt(1),
    repetition: declared.charAt(2),
    escape: declared.charAt(3),
    sub: declared.charAt(4),
  };
}

export interface ParsedSegment {
  name: string;
  /** fields[n] is field n (for MSH too: fields[1] is the field separator, fields[2] the encoding characters). */
  fields: string[];
}

/**
 * A received message (PKB's ACK or ADR^A19), read without a library: `get("MSA", 3)` is MSA-3,
 * unescaped. Segments may be separated by CR, LF or CRLF.
 */
export class ParsedMessage {
  readonly segments: ParsedSegment[];
  private readonly d: Delimiters;

  constructor(readonly text: string) {
    this.d = delimitersOf(text);
    this.segments = text
      .split(/\r\n|\r|\n/)
      .map((s) => s.trimStart())
      .filter((s) => s.length > 0)
      .map((line) => {
        const parts = line.split(this.d.field);
        const name = parts[0] ?? "";
        // MSH-1 is the field separator itself: shift so that fields[n] is MSH-n.
        const fields = name === "MSH" ? ["MSH", this.d.field, ...parts.slice(1)] : parts;
        return { name, fields };
      });
  }

  all(name: string): ParsedSegment[] {
    return this.segments.filter((s) => s.name === name);
  }

  /** Field / component / subcomponent value (1-based) of the first repetition, unescaped; "" when absent. */
  get(name: string, field: number, component = 1, sub = 1, index = 0): string {
    return this.value(this.all(name)[index], field, component, sub);
  }

  value(segment: ParsedSegment | undefined, field: number, component = 1, sub = 1, repetition = 0): string {
    const raw = segment?.fields[field];
    if (raw === undefined) return "";
    if (segment?.name === "MSH" && field <= 2) return raw;
    const rep = raw.split(this.d.repetition)[repetition] ?? "";
    const comp = rep.split(this.d.component)[component - 1] ?? "";
    return this.unescape(comp.split(this.d.sub)[sub - 1] ?? "");
  }

  /** How many repetitions a field has (0 when empty). */
  repetitions(segment: ParsedSegment | undefined, field: number): number {
    const raw = segment?.fields[field];
    return raw ? raw.split(this.d.repetition).length : 0;
  }

  private unescape(text: string): string {
    return unescapeHl7(text, this.d);
  }
}
