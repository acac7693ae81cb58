import { describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { documentText, editInPlace } from "../../src/ops/yaml-edit.js";

const TEXT = [
  "# site: kitchen hub",
  "routes: { pkbRest: { baseUrl: 'https://pkb.example', clientId: c, clientSecretFile: /etc/pkb-hub/client-secret, requestTimeoutMs: 5000 } }",
  "patients:",
  "  # the patient who lives here",
  "  - { key: p1, route: pkb-rest } # since March",
  "devices:",
  "  # lent by the ward",
  "  - id: ox",
  "    driver: nonin-serial",
  "    patient: p1   # until the 12th",
  "    simulate: true",
  "  - { id: gone, driver: contour-serial, patient: p1 }",
  "",
].join("\n");

function edit(change: (raw: Record<string, unknown[]>) => void): string {
  const doc = parseDocument(TEXT);
  const before = doc.toJS() as Record<string, unknown[]>;
  const after = structuredClone(before);
  change(after);
  for (const key of Object.keys(after)) editInPlace(doc, [key], before[key], after[key]);
  return documentText(doc);
}

describe("editing the config in place", () => {
  it("changes only what differs: comments, untouched items and one-line sections stay as written", () => {
    const text = edit((raw) => {
      const ox = raw.devices?.[0] as Record<string, unknown>;
      ox.patient = "p2";
      delete ox.simulate;
      ox.options = { packets: 5 };
      raw.devices?.pop();
      raw.patients?.push({ key: "p2", route: "pkb-rest" });
    });
    expect(text).toBe(
      [
        "# site: kitchen hub",
        "routes: { pkbRest: { baseUrl: 'https://pkb.example', clientId: c, clientSecretFile: /etc/pkb-hub/client-secret, requestTimeoutMs: 5000 } }",
        "patients:",
        "  # the patient who lives here",
        "  - { key: p1, route: pkb-rest } # since March",
        "  - key: p2",
        "    route: pkb-rest",
        "devices:",
        "  # lent by the ward",
        "  - id: ox",
        "    driver: nonin-serial",
        "    patient: p2 # until the 12th",
        "    options:",
        "      packets: 5",
        "",
      ].join("\n"),
    );
  });

  it("nothing changed: the file is the same (yaml writes one space before a trailing comment)", () => {
    expect(edit(() => {})).toBe(TEXT.replace("p1   # until", "p1 # until"));
  });
});
