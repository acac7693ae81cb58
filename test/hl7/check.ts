import { expect } from "vitest";
import { IndependentHl7 } from "../../src/forward/hl7/standard.js";

const SEGMENTS: Record<string, RegExp> = {
  "QRY^A19": /^MSH,QRD$/,
  "ADT^A28": /^MSH,EVN,PID,PV1$/,
  "ORU^R01": /^MSH,PID,OBR(,OBX(,NTE)*)+$/,
  "MDM^T02": /^MSH,EVN,PID,PV1,TXA,OBX$/,
};
const STRUCTURE: Record<string, string> = {
  "QRY^A19": "QRY_A19",
  "ADT^A28": "ADT_A05",
  "ORU^R01": "ORU_R01",
  "MDM^T02": "MDM_T02",
};
const DTM = /^\d{14}([+-]\d{4})?$/;

/**
 * A message the hub sent, checked twice: structurally by hand (CR separators, segment order,
 * MSH fields) and by hl7-standard, a parser we did not write, for the fields PKB relies on.
 */
export function expectValidHl7(text: string, label = ""): void {
  expect(text, label).not.toMatch(/\n/);
  const lines = text.split("\r");
  for (const l of lines) expect(l, label).toMatch(/^[A-Z][A-Z0-9]{2}\|/);
  expect(text.startsWith("MSH|^~\\&|"), label).toBe(true);
  const m = new IndependentHl7(text);
  const type = `${m.get("MSH.9.1")}^${m.get("MSH.9.2")}`;
  expect(Object.keys(SEGMENTS), label).toContain(type);
  expect(lines.map((l) => l.slice(0, 3)).join(","), label).toMatch(SEGMENTS[type] as RegExp);
  expect(m.get("MSH.9.3"), label).toBe(STRUCTURE[type]);
  expect(m.get("MSH.12"), label).toBe("2.4");
  expect(m.get("MSH.7"), label).toMatch(/^\d{14}$/);
  expect(m.get("MSH.10"), label).toMatch(/^[0-9a-f]{20}$/);
  expect(m.get("MSH.11"), label).toMatch(/^[PTD]$/);
  if (type === "QRY^A19") {
    expect(m.get("QRD.8.13"), label).toBe("NH");
    expect(m.get("QRD.9"), label).toBe("DEM");
    return;
  }
  expect(m.get("PID.3.1"), label).toMatch(/^\d{10}$/);
  expect(m.get("PID.3.4"), label).toBe("NHS");
  expect(m.get("PID.3.5"), label).toBe("NH");
  if (type === "ORU^R01") {
    expect(m.get("OBR.3.1") || m.get("OBR.3"), label).not.toBe("");
    for (const o of m.segments("OBX")) {
      expect(o.get("OBX.2"), label).toBe("NM");
      expect(o.get("OBX.3.3"), label).toBe("SCT");
      expect(Number.isFinite(Number(o.get("OBX.5"))), label).toBe(true);
      expect(o.get("OBX.6.1") || o.get("OBX.6"), label).not.toBe("");
      expect(o.get("OBX.11"), label).toBe("F");
      expect(o.get("OBX.14"), label).toMatch(DTM);
    }
  }
  if (type === "MDM^T02") {
    expect(m.get("TXA.17"), label).toBe("AU");
    expect(m.get("TXA.12.1") || m.get("TXA.12"), label).not.toBe("");
    expect(m.get("OBX.2"), label).toBe("ED");
    expect(m.get("OBX.5.3"), label).toBe("PDF");
    expect(m.get("OBX.5.4"), label).toBe("Base64");
  }
}
