import { describe, expect, it } from "vitest";
import { meansPatientUnknown, parseAck } from "../../src/forward/hl7/ack.js";
import { patientStateKey } from "../../src/forward/hl7/patients.js";
import { IndependentHl7 } from "../../src/forward/hl7/standard.js";
import { until } from "../support/wait.js";
import { NHS, useHl7Harness } from "./harness.js";

const t = useHl7Harness();

describe("HL7: PKB no longer knows a patient the hub cached as known", () => {
  it("an ORU refused as 'patient not found' clears the cache: A19, then A28 only because PKB says so, then the ORU afresh", async () => {
    const { h } = t;
    h.knownToHub();
    h.pkb.registry.patients.delete(NHS); // the record went (e.g. removed at PKB) after the hub cached it
    await h.buffer.ingest([h.reading()]);
    h.start();
    await until(() => h.stats().byState.delivered === 1);
    expect(h.types()).toEqual(["ORU^R01", "QRY^A19", "ADT^A28", "ORU^R01"]);
    expect(h.stats().deadLetters).toBe(0);
    expect(h.column("attempts")).toEqual([0]);
    expect(h.pkb.registry.observationsFor(NHS)).toHaveLength(2);
    // PKB did not take the refused ORU: the one it stores is built afresh (new MSH-10, same report id).
    const [refused, , , accepted] = h.captures().map((c) => new IndependentHl7(c.text));
    expect(accepted?.get("MSH.10")).not.toBe(refused?.get("MSH.10"));
    expect(accepted?.get("OBR.3")).toBe(refused?.get("OBR.3"));
    expect(h.buffer.kvGet(patientStateKey("DEMOALIAS", NHS))).toBe("known");
  });

  it("never a second A28 without a fresh A19: PKB that lists the patient yet refuses the ORU gets a dead letter for a person", async () => {
    const { h } = t;
    h.knownToHub();
    h.pkb.injectFaults(
      { kind: "ack", code: "AR", text: "Patient not found" },
      { kind: "none" }, // the A19: PKB lists the patient
      { kind: "ack", code: "AR", text: "Patient not found" },
    );
    await h.buffer.ingest([h.reading()]);
    h.start();
    await until(() => h.stats().deadLetters === 1);
    expect(h.types()).toEqual(["ORU^R01", "QRY^A19", "ORU^R01"]);
    expect(h.buffer.outbox.deadLetters()[0]?.reason).toBe(
      "PKB lists the patient (A19) but refused the message as for an unknown patient: AR: Patient not found",
    );
  });

  it("recognises PKB's wordings of an unknown patient, and nothing else", () => {
    const ack = (code: string, text: string, err = "") =>
      parseAck(
        `MSH|^~\\&|PKB|PKB|||20260101||ACK|a|P|2.4\rMSA|${code}|c1|${text}${err ? `\rERR|${err}` : ""}`,
      );
    for (const text of [
      "Patient not found",
      "patient not known",
      "Unknown patient",
      "No such patient",
      "The patient 9434765919 does not exist",
      "Patient is not registered",
    ])
      expect(meansPatientUnknown(ack("AR", text)), text).toBe(true);
    expect(meansPatientUnknown(ack("AE", "", "^^^204&Unknown key identifier"))).toBe(true);
    expect(meansPatientUnknown(ack("AR", "", "||204"))).toBe(true);
    for (const text of [
      "No observation timestamp in OBX or OBR",
      "Invalid NHS number",
      "Patient found but record is inactive. Unknown measurement",
      "Unknown measurement: SNOMED 1 with unit kg",
    ])
      expect(meansPatientUnknown(ack("AR", text)), text).toBe(false);
    expect(meansPatientUnknown(ack("AA", "Patient not found"))).toBe(false);
  });
});
