import { describe, expect, it } from "vitest";
import {
  escapeHl7,
  message,
  ParsedMessage,
  STANDARD_DELIMITERS,
  segment,
  unescapeHl7,
} from "../../src/forward/hl7/encoding.js";

describe("HL7 escaping, byte by byte", () => {
  it("each delimiter, line break and control character has its own escape", () => {
    const table: Array<[string, string]> = [
      ["\\", "\\E\\"],
      ["|", "\\F\\"],
      ["^", "\\S\\"],
      ["&", "\\T\\"],
      ["~", "\\R\\"],
      ["\r\n", "\\.br\\"],
      ["\r", "\\.br\\"],
      ["\n", "\\.br\\"],
      ["\n\r", "\\.br\\\\.br\\"],
      ["\u0000", "\\X00\\"],
      ["\u0001", "\\X01\\"],
      ["\u0008", "\\X08\\"],
      ["\u000b", "\\X0B\\"],
      ["\u000c", "\\X0C\\"],
      ["\u001b", "\\X1B\\"],
      ["\u001f", "\\X1F\\"],
      ["\u007f", "\\X7F\\"],
      ["\t", "\t"], // allowed in XML: kept
      [" ", " "],
      ["é", "é"],
      ["\u0080", "\u0080"],
      ["A", "A"],
    ];
    for (const [raw, escaped] of table)
      expect(escapeHl7(`<${raw}>`), JSON.stringify(raw)).toBe(`<${escaped}>`);
  });

  it("text without anything to escape comes back as it was, even 40 MB of base64", () => {
    const base64 = Buffer.alloc(30 * 1024 * 1024, 0xfb).toString("base64");
    expect(escapeHl7(base64)).toBe(base64);
    expect(escapeHl7("")).toBe("");
  });

  it("every escape sequence reads back, with the delimiters the message declares", () => {
    expect(unescapeHl7("\\E\\\\F\\\\S\\\\T\\\\R\\\\.br\\")).toBe("\\|^&~\n");
    expect(unescapeHl7("\\X41\\\\X4142\\\\Xe9\\")).toBe("AABé");
    expect(unescapeHl7("\\Q\\ \\X\\ \\XZZ\\ plain")).toBe("\\Q\\ \\X\\ \\XZZ\\ plain");
    const other = { field: "#", component: "*", repetition: "!", escape: "@", sub: "%" };
    expect(unescapeHl7("@E@@F@@S@@T@@R@@.br@ \\F\\", other)).toBe("@#*%!\n \\F\\");
    const regexy = { ...other, escape: "$" };
    expect(unescapeHl7("$F$ a$b", regexy)).toBe("# a$b");
    expect(unescapeHl7("\\F\\", STANDARD_DELIMITERS)).toBe("|");
    const raw = "a|b^c&d~e\\f\ng\r\u0001h";
    expect(unescapeHl7(escapeHl7(raw))).toBe(raw.replace("\r", "\n"));
  });
});

describe("HL7 segments as written", () => {
  it("fields, components and subcomponents join with | ^ &, each value escaped once, trailing empties dropped", () => {
    expect(segment("PID", ["1", undefined, ["9434765919", undefined, undefined, "NHS", "NH"]])).toBe(
      "PID|1||9434765919^^^NHS^NH",
    );
    expect(segment("OBX", ["1", ["a", ["s1", undefined, "s&3"]], undefined, undefined])).toBe(
      "OBX|1|a^s1&&s\\T\\3",
    );
    expect(segment("OBX", [["x", undefined, undefined], "y^"])).toBe("OBX|x|y\\S\\");
    expect(segment("NTE", [undefined, ["", ""]])).toBe("NTE|");
    expect(segment("NTE", [])).toBe("NTE|");
    expect(segment("NTE", ["|", "^"])).toBe("NTE|\\F\\|\\S\\");
    expect(segment("NTE", ["a|"])).toBe("NTE|a\\F\\");
    expect(segment("MSH", ["APP", "FAC"])).toBe("MSH|^~\\&|APP|FAC");
    expect(segment("MSH", [])).toBe("MSH|^~\\&|");
    expect(message(["MSH|^~\\&|A", "PID|1"])).toBe("MSH|^~\\&|A\rPID|1");
  });
});

describe("HL7 answers as read", () => {
  it("segments split on CR, LF or CRLF; blank lines and leading spaces ignored", () => {
    const m = new ParsedMessage("MSH|^~\\&|PKB\r\n\r  MSA|AA|c1\n\nERR|x\r");
    expect(m.segments.map((s) => s.name)).toEqual(["MSH", "MSA", "ERR"]);
    expect(m.get("MSA", 2)).toBe("c1");
    expect(m.get("ERR", 1)).toBe("x");
  });

  it("MSH-1 and MSH-2 are the delimiters themselves, never unescaped; MSH-3 is the first value", () => {
    const m = new ParsedMessage("MSH|^~\\&|PKB^X|FAC");
    expect(m.get("MSH", 1)).toBe("|");
    expect(m.get("MSH", 2)).toBe("^~\\&");
    expect(m.get("MSH", 3)).toBe("PKB");
    expect(m.get("MSH", 3, 2)).toBe("X");
    expect(m.get("MSH", 4)).toBe("FAC");
    expect(m.get("MSH", 5)).toBe("");
  });

  it("reads fields, components, subcomponents and repetitions; absent is empty", () => {
    const m = new ParsedMessage("MSH|^~\\&|P\rPID|1||A^^^NHS^NH~B&b2^x||E\\S\\F");
    const pid = m.all("PID")[0];
    expect(m.value(pid, 3)).toBe("A");
    expect(m.value(pid, 3, 5)).toBe("NH");
    expect(m.value(pid, 3, 1, 1, 1)).toBe("B");
    expect(m.value(pid, 3, 1, 2, 1)).toBe("b2");
    expect(m.value(pid, 3, 2, 1, 1)).toBe("x");
    expect(m.value(pid, 3, 9)).toBe("");
    expect(m.value(pid, 3, 1, 1, 5)).toBe("");
    expect(m.value(pid, 3, 1, 3)).toBe("");
    expect(m.value(pid, 5)).toBe("E^F");
    expect(m.value(pid, 40)).toBe("");
    expect(m.value(undefined, 1)).toBe("");
    expect(m.repetitions(pid, 3)).toBe(2);
    expect(m.repetitions(pid, 2)).toBe(0);
    expect(m.repetitions(pid, 40)).toBe(0);
    expect(m.repetitions(undefined, 3)).toBe(0);
    expect(m.get("PID", 1, 1, 1, 1)).toBe("");
    expect(m.all("OBX")).toEqual([]);
  });

  it("an answer with its own delimiters is read as it declares them", () => {
    const m = new ParsedMessage("MSH#*!@%#PKB*X\rMSA#AR#c1#Bad @F@ value*second%sub!rep");
    expect(m.get("MSH", 1)).toBe("#");
    expect(m.get("MSH", 2)).toBe("*!@%");
    expect(m.get("MSH", 3, 2)).toBe("X");
    expect(m.get("MSA", 3)).toBe("Bad # value");
    expect(m.get("MSA", 3, 2)).toBe("second");
    expect(m.get("MSA", 3, 2, 2)).toBe("sub");
    expect(m.value(m.all("MSA")[0], 3, 1, 1, 1)).toBe("rep");
  });

  it("an MSH that does not declare five distinct delimiters is read with the standard ones", () => {
    for (const text of ["MSH|^~\\|x", "MSHA^~\\&|x", "MSH| ~\\&|x", "MSH|^~\\", "MSH", "MSH|^^\\&|x"]) {
      const m = new ParsedMessage(`${text}\rPID|1|a^b&c~d|\\F\\`);
      expect(m.get("PID", 2, 2), text).toBe("b");
      expect(m.get("PID", 2, 2, 2), text).toBe("c");
      expect(m.value(m.all("PID")[0], 2, 1, 1, 1), text).toBe("d");
      expect(m.get("PID", 3), text).toBe("|");
    }
    expect(new ParsedMessage("PID|1|a^b").get("PID", 2, 2)).toBe("b");
    expect(new ParsedMessage("MSH|^~\\&").segments[0]?.fields).toEqual(["MSH", "|", "^~\\&"]);
  });
});
