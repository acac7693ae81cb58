import { randomUUID } from "node:crypto";
import type { HubBuffer } from "../../buffer/buffer.js";
import type { Claimed, Lease, Outcome } from "../../buffer/outbox.js";
import type { Config, PatientConfig } from "../../config/schema.js";
import type { Clock } from "../../core/clock.js";
import { isHubError, messageOf } from "../../core/errors.js";
import type { Logger } from "../../core/log.js";
import type { Reading } from "../../core/reading.js";
import { DeliveryLoop, type Settled } from "../loop.js";
import {
  buildAdtA28,
  buildMdmT02,
  buildOruR01,
  buildQryA19,
  type Hl7Document,
  type Hl7Patient,
  type Sender,
  type SnomedTable,
} from "./messages.js";
import { ackOutcome, interpret } from "./outcome.js";
import type { SoapClient } from "./soap.js";

export type Hl7RouteConfig = NonNullable<Config["routes"]["hl7"]>;

export interface Hl7ForwarderOptions {
  buffer: HubBuffer;
  clock: Clock;
  logger: Logger;
  route: Hl7RouteConfig;
  patients: PatientConfig[];
  timeZone: string;
  client: SoapClient;
  idleMs?: number;
}

interface StoredMessage {
  ids: number[];
  text: string;
}

class Deferred extends Error {
  constructor(readonly outcome: Outcome) {
    super("deferred");
  }
}

const newControlId = () => randomUUID().replace(/-/g, "").slice(0, 20);

/**
 * The HL7 partner route. Per patient: A19 query (cached), A28 at most once and never for a patient
 * PKB knows, then the patient's readings batched into one ORU^R01; documents as MDM^T02. A message
 * is stored before it is sent and re-sent identically (same MSH-10, same OBR-3.1) after an
 * ambiguous outcome, because PKB does not de-duplicate.
 */
export class Hl7Forwarder {
  readonly route = "hl7";
  private readonly loop: DeliveryLoop;
  private readonly sender: Sender;
  private readonly patients: Map<string, PatientConfig>;

  constructor(private readonly o: Hl7ForwarderOptions) {
    this.sender = {
      sendingApplication: o.route.sendingApplication,
      sendingFacility: o.route.sendingFacility,
      processingId: o.route.processingId,
      timeZone: o.timeZone,
    };
    this.patients = new Map(o.patients.map((p) => [p.key, p]));
    this.loop = new DeliveryLoop({
      route: this.route,
      outbox: o.buffer.outbox,
      logger: o.logger,
      claim: (outbox) => outbox.claimOrdered(this.route, o.route.maxObservationsPerMessage),
      send: (lease, signal) => this.send(lease, signal),
      concurrency: 1,
      idleMs: o.idleMs ?? 1000,
    });
  }

  start(): void {
    this.loop.start();
  }
  poke(): void {
    this.loop.poke();
  }
  async stop(): Promise<void> {
    await this.loop.stop();
    this.o.client.close();
  }

  private async send(lease: Lease, signal: AbortSignal): Promise<Settled[]> {
    const byPatient = new Map<string, Claimed[]>();
    for (const row of lease.rows) byPatient.set(row.patient, [...(byPatient.get(row.patient) ?? []), row]);
    const settled: Settled[] = [];
    for (const [key, rows] of byPatient) {
      const ids = rows.map((r) => r.id);
      const patient = this.hl7Patient(key);
      if (!patient) {
        settled.push({
          ids,
          outcome: {
            kind: "rejected",
            reason: `patient ${key} has no HL7 demographics in the configuration`,
          },
        });
        continue;
      }
      try {
        await this.ensureKnown(key, patient, signal);
        settled.push(...(await this.deliver(key, patient, rows, signal)));
      } catch (err) {
        if (err instanceof Deferred) settled.push({ ids, outcome: err.outcome });
        else
          settled.push({
            ids,
            outcome: {
              kind: "retry",
              error: isHubError(err) ? err.message : messageOf(err),
              ambiguous: false,
            },
          });
      }
    }
    return settled;
  }

  private hl7Patient(key: string): Hl7Patient | undefined {
    const p = this.patients.get(key);
    if (!p?.nhsNumber || !p.firstName || !p.lastName || !p.dob || !p.sex) return undefined;
    return { nhsNumber: p.nhsNumber, firstName: p.firstName, lastName: p.lastName, dob: p.dob, sex: p.sex };
  }

  /** A19 first (cached once known); A28 only when PKB does not know the patient, recorded before it is sent. */
  private async ensureKnown(key: string, patient: Hl7Patient, signal: AbortSignal): Promise<void> {
    const stateKey = `hl7:patient:${key}`;
    if (this.o.buffer.kvGet(stateKey) === "known") return;
    const query = interpret(
      await this.o.client.send(
        buildQryA19(this.sender, patient.nhsNumber, newControlId(), this.o.clock.nowMs()),
        signal,
      ),
    );
    // A query changes nothing at PKB: whatever went wrong, it is not an ambiguous delivery.
    if ("outcome" in query)
      throw new Deferred(
        query.outcome.kind === "retry" ? { ...query.outcome, ambiguous: false } : query.outcome,
      );
    if (query.ack.code !== "AA")
      throw new Deferred({ kind: "retry", error: `A19 answered ${query.ack.code}: ${query.ack.text}` });
    if (query.ack.patientFound) {
      this.o.buffer.kvSet(stateKey, "known");
      return;
    }
    this.o.buffer.kvSet(stateKey, "a28-sent");
    this.o.logger.info({ patient: key }, "patient unknown to PKB: creating the record (A28)");
    const created = interpret(
      await this.o.client.send(
        buildAdtA28(this.sender, patient, newControlId(), this.o.clock.nowMs()),
        signal,
      ),
    );
    if ("outcome" in created) throw new Deferred(created.outcome);
    const outcome = ackOutcome(created.ack);
    if (outcome.kind !== "delivered") {
      throw new Deferred({
        kind: "rejected",
        reason: `patient record creation refused: ${outcome.kind === "rejected" ? outcome.reason : ""}`,
      });
    }
    this.o.buffer.kvSet(stateKey, "known");
  }

  private async deliver(
    key: string,
    patient: Hl7Patient,
    rows: Claimed[],
    signal: AbortSignal,
  ): Promise<Settled[]> {
    const settled: Settled[] = [];
    const readings = rows.filter((r) => r.item.type === "reading");
    for (const doc of rows.filter((r) => r.item.type === "document")) {
      settled.push({
        ids: [doc.id],
        outcome: await this.sendStored([doc.id], () => this.buildDocument(patient, doc), signal),
      });
    }
    if (readings.length === 0) return settled;
    // A message already stored for these rows is re-sent as it was; rows beyond it wait their turn.
    const stored = this.stored(readings[0]?.id as number);
    const batch = stored ? readings.filter((r) => stored.ids.includes(r.id)) : this.fitBatch(readings);
    const rest = readings.filter((r) => !batch.includes(r));
    const ids = batch.map((r) => r.id);
    const outcome = await this.sendStored(ids, () => this.buildOru(key, patient, batch), signal);
    settled.push({ ids, outcome });
    if (rest.length > 0)
      settled.push({
        ids: rest.map((r) => r.id),
        outcome: { kind: "retry", error: "next batch", retryAfterMs: 0 },
      });
    return settled;
  }

  /** As many readings as fit the observation limit (at least one). */
  private fitBatch(rows: Claimed[]): Claimed[] {
    const out: Claimed[] = [];
    let obx = 0;
    for (const r of rows) {
      const n = r.item.type === "reading" ? r.item.reading.components.length : 1;
      if (out.length > 0 && obx + n > this.o.route.maxObservationsPerMessage) break;
      out.push(r);
      obx += n;
    }
    return out;
  }

  private buildOru(key: string, patient: Hl7Patient, rows: Claimed[]): string {
    const readings = rows.flatMap((r) => (r.item.type === "reading" ? [r.item.reading] : [])) as Reading[];
    const reportId = `${key}-${(readings[0] as Reading).key.slice(0, 16)}`.slice(0, 60);
    return buildOruR01(
      this.sender,
      patient,
      readings,
      reportId,
      newControlId(),
      this.o.clock.nowMs(),
      this.o.route.snomed as SnomedTable,
    );
  }

  private buildDocument(patient: Hl7Patient, row: Claimed): string {
    if (row.item.type !== "document") throw new Error("not a document");
    const d = row.item.document;
    const doc: Hl7Document = {
      documentNumber: d.key,
      typeCode: String(d.typeCode ?? "DS"),
      title: String(d.title ?? "Document"),
      fileName: String(d.fileName ?? `${d.key}.pdf`),
      pdfBase64: String(d.pdfBase64 ?? ""),
      createdMs: Number(d.createdMs ?? this.o.clock.nowMs()),
    };
    return buildMdmT02(this.sender, patient, doc, newControlId(), this.o.clock.nowMs());
  }

  private stored(firstId: number): StoredMessage | undefined {
    const text = this.o.buffer.kvGet(`hl7:msg:${firstId}`);
    return text ? (JSON.parse(text) as StoredMessage) : undefined;
  }

  /** Builds (once) and stores the message before sending it; forgets it once PKB has answered for good. */
  private async sendStored(ids: number[], build: () => string, signal: AbortSignal): Promise<Outcome> {
    const key = `hl7:msg:${ids[0]}`;
    let msg = this.stored(ids[0] as number);
    if (!msg) {
      try {
        msg = { ids, text: build() };
      } catch (err) {
        return { kind: "rejected", reason: `message cannot be built: ${messageOf(err)}` };
      }
      this.o.buffer.kvSet(key, JSON.stringify(msg));
    }
    const answer = interpret(await this.o.client.send(msg.text, signal));
    const outcome = "ack" in answer ? ackOutcome(answer.ack) : answer.outcome;
    // Answered for good: a later re-send by hand (after fixing the cause) builds a fresh message.
    if (outcome.kind !== "retry") this.o.buffer.kvDelete(key);
    if (outcome.kind === "rejected")
      this.o.logger.warn({ rows: ids.length }, "HL7 message rejected by PKB: kept as dead letter");
    return outcome;
  }
}
