import { describe, expect, it } from "vitest";
import { IndependentHl7 } from "../../src/forward/hl7/standard.js";
import { decodeSoapBody } from "../standin/hl7/server.js";
import { until } from "../support/wait.js";
import { expectValidHl7 } from "./check.js";
import { NHS, useHl7Harness } from "./harness.js";

const t = useHl7Harness();

describe("HL7 character set", () => {
  it("names with é and ł: MSH-18 declares UNICODE UTF-8 and PKB stores them exactly", async () => {
    const { h } = t;
    const firstName = "Zoë Renée";
    const lastName = "Łukasiewicz-Brontë 王";
    await h.buffer.ingest([h.reading()]);
    h.start(h.config({}, { firstName, lastName }));
    await until(() => h.stats().byState.delivered === 1);
    expect(h.pkb.registry.patients.get(NHS)).toMatchObject({ firstName, lastName });
    const charsets = h.captures().map((c) => [c.name.slice(5), new IndependentHl7(c.text).get("MSH.18")]);
    expect(charsets).toEqual([
      ["QRY-A19.hl7", ""], // nothing beyond ASCII: left as PKB's examples are
      ["ADT-A28.hl7", "UNICODE UTF-8"],
      ["ORU-R01.hl7", "UNICODE UTF-8"],
    ]);
    for (const c of h.captures()) expectValidHl7(c.text, c.name);
  });

  it("the stand-in refuses what would store another name: no MSH-18, another charset, a body not in UTF-8", () => {
    const { h } = t;
    h.knownToPkb();
    const a28 = (msh18: string, name: string) =>
      [
        `MSH|^~\\&|PKBHUB|DEMOALIAS|HL7API|PKB|20260101120000||ADT^A28^ADT_A05|c1|P|2.4||||||${msh18}`,
        "EVN|A28|20260101120000",
        `PID|1||${NHS}^^^NHS^NH||${name}^Zoë||19500131|F`,
        "PV1|1|N",
      ].join("\r");
    expect(h.pkb.registry.handle(a28("", "Brontë"))).toContain(
      "MSA|AR|c1|Characters beyond ASCII without a character set in MSH-18",
    );
    expect(h.pkb.registry.handle(a28("8859/1", "Bronte"))).toContain(
      "MSA|AR|c1|MSH-18 character set 8859/1 is not supported",
    );
    expect(h.pkb.registry.handle(a28("UNICODE UTF-8", "Brontë"))).toContain("MSA|AA|c1");
    const xml = '<?xml version="1.0" encoding="UTF-8"?><x>Brontë</x>';
    expect(decodeSoapBody(Buffer.from(xml, "utf8"), "text/xml; charset=utf-8")).toEqual({ body: xml });
    expect(decodeSoapBody(Buffer.from(xml, "latin1"), "text/xml")).toEqual({
      problem: "The request body is not valid UTF-8",
    });
    expect(decodeSoapBody(Buffer.from(xml, "utf8"), "text/xml; charset=ISO-8859-1")).toEqual({
      problem: "Content-Type charset ISO-8859-1 is not supported: send UTF-8",
    });
    expect(decodeSoapBody(Buffer.from(xml.replace("UTF-8", "ISO-8859-1"), "utf8"), undefined)).toEqual({
      problem: "XML encoding ISO-8859-1 is not supported: send UTF-8",
    });
  });

  it("names that PKB would store wrongly are refused at config time: blank, line breaks, control characters, broken Unicode", () => {
    const { h } = t;
    const bad: Array<[string, string]> = [
      ["   ", "must not be blank"],
      ["", "must not be blank"],
      ["Ann\nMarie", "must not contain line breaks or other control characters"],
      ["Ann\r", "must not contain line breaks or other control characters"],
      ["Ann\u2028Marie", "must not contain line breaks or other control characters"],
      ["Ann\tMarie", "must not contain line breaks or other control characters"],
      ["Ann\u0000", "must not contain line breaks or other control characters"],
      ["Ann\u0085", "must not contain line breaks or other control characters"],
      ["Ann\ud800", "must be valid Unicode text"],
    ];
    for (const [name, why] of bad) {
      for (const field of ["firstName", "lastName"] as const) {
        expect(() => h.config({}, { [field]: name }), JSON.stringify(name)).toThrow(
          expect.objectContaining({
            code: "CONFIG_INVALID",
            message: expect.stringContaining(`patients[0].${field}: ${why}`),
          }),
        );
      }
    }
    expect(h.config({}, { firstName: "Zoë 👩‍⚕️", lastName: "O'Brien-Łoś" }).patients[0]?.lastName).toBe(
      "O'Brien-Łoś",
    );
  });
});
