/**
 * HL7 v2 encoding with the standard delimiters (| ^ ~ \ &). hl7-standard builds messages without
 * escaping delimiters inside values, so outgoing messages are encoded here; a value is escaped
 * exactly once, at the leaf.
 */
export const SEGMENT_SEPARATOR = "\r";

const ESCAPES: Array<[RegExp, string]> = [
  [/\\/g, "\\E\\"],
  [/\|/g, "\\F\\"],
  [/\^/g, "\\S\\"],
  [/&/g, "\\T\\"],
  [/~/g, "\\R\\"],
  [/\r\n|\r|\n/g, "\\.br\\"],
];

export function escapeHl7(text: string): string {
  return ESCAPES.reduce((s, [re, rep]) => s.replace(re, rep), text);
}

export function unescapeHl7(text: string): string {
  return text.replace(/\\(E|F|S|T|R|\.br|X[0-9A-Fa-f]+)\\/g, (_m, code: string) => {
    switch (code) {
      case "E":
        return "\\";
      case "F":
        return "|";
      case "S":
        return "^";
      case "T":
        return "&";
      case "R":
        return "~";
      case ".br":
        return "\n";
      default:
        return Buffer.from(code.slice(1), "hex").toString("latin1");
    }
  });
}

/** A field: a plain value, or components (each a value or subcomponents). Undefined = empty. */
export type Component = string | undefined | Array<string | undefined>;
export type Field = string | undefined | Component[];

function encodeComponent(c: Component): string {
  if (Array.isArray(c)) return c.map((s) => escapeHl7(s ?? "")).join("&");
  return escapeHl7(c ?? "");
}

function encodeField(f: Field): string {
  if (Array.isArray(f)) return f.map(encodeComponent).join("^").replace(/\^+$/, "");
  return escapeHl7(f ?? "");
}

/** One segment. For MSH, pass the fields from MSH-3 on: MSH-1/2 are written here. */
export function segment(name: string, fields: Field[]): string {
  const body = fields.map(encodeField).join("|").replace(/\|+$/, "");
  return name === "MSH" ? `MSH|^~\\&|${body}` : `${name}|${body}`;
}

export function message(segments: string[]): string {
  return segments.join(SEGMENT_SEPARATOR);
}

/** A parsed message: `get("OBX", 3, 1)` is OBX-3.1 of the first OBX, unescaped. */
export class ParsedMessage {
  readonly segments: Array<{ name: string; fields: string[] }>;

  constructor(readonly text: string) {
    this.segments = text
      .split(/\r\n|\r|\n/)
      .filter((s) => s.length > 0)
      .map((line) => {
        const parts = line.split("|");
        const name = parts[0] ?? "";
        // MSH-1 is the field separator itself: shift so that fields[n] is MSH-n.
        const fields = name === "MSH" ? ["MSH", "|", ...parts.slice(1)] : parts;
        return { name, fields };
      });
  }

  all(name: string): Array<{ name: string; fields: string[] }> {
    return this.segments.filter((s) => s.name === name);
  }

  /** Field / component / subcomponent value (1-based), unescaped; "" when absent. */
  get(name: string, field: number, component = 1, sub = 1, index = 0): string {
    return ParsedMessage.value(this.all(name)[index]?.fields, field, component, sub);
  }

  static value(fields: string[] | undefined, field: number, component = 1, sub = 1): string {
    const raw = fields?.[field];
    if (raw === undefined) return "";
    if (fields?.[0] === "MSH" && field <= 2) return raw;
    const comp = raw.split("~")[0]?.split("^")[component - 1] ?? "";
    return unescapeHl7(comp.split("&")[sub - 1] ?? "");
  }
}
