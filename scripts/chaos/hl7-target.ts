import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Reading } from "../../src/core/reading.js";
import { snomedFor } from "../../src/forward/hl7/messages.js";
import { hl7TimeFromIso } from "../../src/forward/hl7/time.js";
import { valueIn } from "../../src/forward/hl7/units.js";
import { UNREADABLE_ACK_VARIANTS } from "../../test/standin/hl7/ack-variants.js";
import type { Hl7ChaosFault } from "../../test/standin/hl7/faults.js";
import type { Observation, PkbHl7Registry } from "../../test/standin/hl7/pkb-hl7.js";
import { startHl7Standin } from "../../test/standin/hl7/server.js";
import { type Drawn, weighted } from "./pick.js";
import { CHAOS_PATIENT } from "./rest-target.js";
import type { ChaosRun, ChaosTarget } from "./target.js";

/** The texts of PKB's permanent refusals the stand-in injects: the only dead letters a faults run may have. */
const REFUSED_AR = "chaos: measurement refused for good";
const REFUSED_AE = "chaos: message found bad";

/**
 * What the HL7 stand-in answers instead of the truth, drawn at the fault rate. `accept-then-…`
 * and unreadable ACKs come after PKB stored the message; AR/AE refusals store nothing.
 */
const HL7_FAULTS: Array<{ weight: number; fault: Drawn<Hl7ChaosFault> }> = [
  { weight: 3, fault: { kind: "status", status: 500 } },
  { weight: 2, fault: { kind: "status", status: 503, retryAfter: "1" } },
  { weight: 2, fault: { kind: "status", status: 429, retryAfter: "1" } },
  { weight: 2, fault: { kind: "soap-fault" } },
  { weight: 2, fault: { kind: "hang" } }, // timeout before processing
  { weight: 3, fault: { kind: "accept-then-hang" } }, // timeout after processing
  { weight: 2, fault: { kind: "reset" } }, // connection reset before processing
  { weight: 3, fault: { kind: "accept-then-reset" } }, // answer lost after processing
  {
    weight: 3,
    fault: (rand) => ({
      kind: "unreadable",
      variant: UNREADABLE_ACK_VARIANTS[Math.floor(rand() * UNREADABLE_ACK_VARIANTS.length)] ?? "no-msa",
    }),
  },
  { weight: 1, fault: { kind: "reject", code: "AR", text: REFUSED_AR } },
  { weight: 1, fault: { kind: "reject", code: "AE", text: REFUSED_AE } },
];

/** The record as the patient sees it: live observations only (a retracted report's, OBR-25 `R`, are not). */
function liveRecord(registry: PkbHl7Registry, nhsNumber: string): Observation[] {
  return registry.observationsFor(nhsNumber);
}

/** One observation's identity in the record: time, code and value as sent (readings differ in time or values). */
const identity = (time: string, code: string, value: number) => `${time}|${code}|${value}`;

/** The HL7 route against the HL7 stand-in (SOAP over HTTPS, Basic auth), the patient unknown to PKB at first. */
export async function hl7Target(run: ChaosRun, dataDir: string): Promise<ChaosTarget> {
  const pkb = await startHl7Standin();
  const passwordFile = join(dataDir, "hl7-password");
  writeFileSync(passwordFile, "partner-password\n", { mode: 0o600 });
  const hl7 = {
    url: pkb.httpsUrl,
    caFile: pkb.caFile,
    username: "partner",
    passwordFile,
    sendingFacility: "DEMOALIAS",
    // The stand-in stores a message as it arrives (no latency): a first copy cannot land a second late.
    retractAfterSec: 1,
    // Faults: two blood pressures an ORU, so that many messages meet a fault; short deadlines.
    ...(run === "faults"
      ? { maxObservationsPerMessage: 4, requestTimeoutMs: 300 }
      : { maxObservationsPerMessage: 10, requestTimeoutMs: 5000 }),
  };
  return {
    route: "hl7",
    patient: {
      key: "p1",
      route: "hl7",
      nhsNumber: CHAOS_PATIENT.nhsNumber,
      firstName: CHAOS_PATIENT.firstName,
      lastName: CHAOS_PATIENT.lastName,
      dob: CHAOS_PATIENT.dob,
      sex: "F",
    },
    routes: { hl7 },
    prepare: async () => {},
    setFaultRate(rate, rand = Math.random) {
      pkb.chaos.set(rate, weighted(HL7_FAULTS, rand), rand);
    },
    copies(readings: Reading[]) {
      const count = new Map<string, number>();
      for (const o of liveRecord(pkb.registry, CHAOS_PATIENT.nhsNumber)) {
        const k = identity(o.time, o.code, o.value);
        count.set(k, (count.get(k) ?? 0) + 1);
      }
      // A reading's copies: those of its most often stored component (all of one ORU go together).
      return readings.map((r) =>
        Math.max(
          0,
          ...r.components.map((c) => {
            const sent = snomedFor(c.id, {});
            return (
              count.get(identity(hl7TimeFromIso(r.measuredAt), sent.code, Number(valueIn(c, sent.unit)))) ?? 0
            );
          }),
        ),
      );
    },
    expectedDeadReason: (reason) => reason.includes(REFUSED_AR) || reason.includes(REFUSED_AE),
    requests: () => pkb.requests(),
    injected: () => pkb.chaos.injected(),
    injectedByKind: () => Object.fromEntries(pkb.chaos.byKind),
    stop: () => pkb.stop(),
  };
}
