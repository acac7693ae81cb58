import { randomUUID } from "node:crypto";
import type { HubBuffer } from "../../buffer/buffer.js";
import type { Claimed, Lease, Outcome } from "../../buffer/outbox.js";
import type { Config, PatientConfig } from "../../config/schema.js";
import type { Clock } from "../../core/clock.js";
import { HubError, reasonOf } from "../../core/errors.js";
import type { Logger } from "../../core/log.js";
import { isValidNhsNumber } from "../../core/nhs.js";
import { DeliveryLoop, type Settled } from "../loop.js";
import { meansPatientUnknown } from "./ack.js";
import { OruAmbiguity } from "./ambiguous.js";
import { checkedBase64 } from "./document.js";
import { reportId } from "./ids.js";
import { buildMdmT02, buildOruR01, type Hl7Patient, type Sender } from "./messages.js";
import { type Blocked, interpret, settle } from "./outcome.js";
import { Deferred, type Exchange, PatientWorkflow } from "./patients.js";
import { Hl7RetractionStore } from "./retractions.js";
import type { SoapClient } from "./soap.js";
import { Hl7MessageStore, type StoredMessage } from "./store.js";
import { hl7Time } from "./time.js";

export type Hl7RouteConfig = NonNullable<Config["routes"]["hl7"]>;

export interface Hl7ForwarderOptions {
  buffer: HubBuffer;
  clock: Clock;
  logger: Logger;
  route: Hl7RouteConfig;
  patients: PatientConfig[];
  timeZone: string;
  /** hub.id: part of every report id, so two hubs of one organisation never share one. */
  hubId: string;
  client: Pick<SoapClient, "send" | "close">;
  idleMs?: number;
  newControlId?: () => string;
}

/** Whom a pass sends for, and how the hub knows PKB has their record. */
interface Recipient {
  patient: Hl7Patient;
  key: string;
  known: "cached" | "confirmed";
}

/** Rows that travel in one HL7 message: a stored message's rows, one document, or a batch of readings. */
interface Unit {
  rows: Claimed[];
  stored?: StoredMessage;
}

/** Rows claimed per patient and lease, in multiples of the OBX limit (a reading has at least one OBX). */
const MESSAGES_PER_CLAIM = 4;

const BLOCKED_TEXT: Record<Blocked, string> = {
  HL7_AUTH_FAILED:
    "PKB refused the HL7 partner credentials: readings are held (not dead-lettered) until routes.hl7 username/passwordFile are fixed",
  HL7_ENDPOINT_NOT_FOUND: "PKB's HL7 endpoint answered 404: readings are held until routes.hl7.url is fixed",
};

/**
 * The HL7 partner route. Per patient (claimed in order): A19/A28 through PatientWorkflow, then the
 * rows in id order as messages — readings batched into ORU^R01 up to `maxObservationsPerMessage`
 * OBX rows, documents as MDM^T02. Every message is stored before it is first sent and only ever
 * re-sent identically, because PKB does not de-duplicate.
 */
export class Hl7Forwarder {
  readonly route = "hl7";
  private readonly loop: DeliveryLoop;
  private readonly sender: Sender;
  private readonly patients: Map<string, PatientConfig>;
  private readonly store: Hl7MessageStore;
  private readonly ambiguity: OruAmbiguity;
  private readonly workflow: PatientWorkflow;
  private readonly newControlId: () => string;

  constructor(private readonly o: Hl7ForwarderOptions) {
    this.sender = {
      sendingApplication: o.route.sendingApplication,
      sendingFacility: o.route.sendingFacility,
      processingId: o.route.processingId,
      timeZone: o.timeZone,
    };
    this.patients = new Map(o.patients.map((p) => [p.key, p]));
    this.store = new Hl7MessageStore(o.buffer.db);
    // MSH-10 must be unique per sender for ever: 20 hex characters of a random UUID (ST, ≤ 20).
    this.newControlId = o.newControlId ?? (() => randomUUID().replace(/-/g, "").slice(0, 20));
    this.ambiguity = new OruAmbiguity({
      retractions: new Hl7RetractionStore(o.buffer.db),
      policy: o.route.onAmbiguous,
      settleMs: o.route.retractAfterSec * 1000,
      nowMs: () => o.buffer.timebase.nowMs(),
      wallMs: () => o.clock.nowMs(),
      newControlId: this.newControlId,
      messageTime: () => hl7Time(o.clock.nowMs(), o.timeZone),
      logger: o.logger,
    });
    this.workflow = new PatientWorkflow({
      buffer: o.buffer,
      sender: this.sender,
      clock: o.clock,
      logger: o.logger,
      newControlId: this.newControlId,
    });
    this.loop = new DeliveryLoop({
      route: this.route,
      outbox: o.buffer.outbox,
      logger: o.logger,
      // Several messages' worth of rows per claim: one claim and one outcome commit serve them all.
      claim: (outbox) =>
        outbox.claimOrdered(this.route, o.route.maxObservationsPerMessage * MESSAGES_PER_CLAIM),
      send: (lease, signal) => this.send(lease, signal),
      concurrency: 1,
      idleMs: o.idleMs ?? 1000,
      onSettled: (settled) => this.forgetAnswered(settled),
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
      const patient = this.hl7Patient(key);
      if (typeof patient === "string") {
        settled.push({ ids: rows.map((r) => r.id), outcome: { kind: "rejected", reason: patient } });
        continue;
      }
      let sends = 0;
      const exchange: Exchange = (hl7) =>
        this.exchange(lease, hl7, signal, () => {
          sends++;
        });
      const mine: Settled[] = [];
      try {
        const known = await this.workflow.ensureKnown(key, patient, exchange);
        await this.deliver({ patient, key, known }, rows, exchange, mine);
      } catch (err) {
        const done = new Set(mine.flatMap((s) => s.ids));
        const outcome: Outcome =
          err instanceof Deferred
            ? err.outcome
            : {
                kind: "retry",
                error: reasonOf(err),
                ambiguous: sends > 0,
              };
        if (!(err instanceof Deferred)) this.o.logger.error({ err, patient: key }, "HL7 delivery failed");
        mine.push({ ids: rows.filter((r) => !done.has(r.id)).map((r) => r.id), outcome });
      }
      settled.push(...mine);
    }
    return settled;
  }

  /** The patient's demographics, or why they cannot be sent (no PHI in the reason). */
  private hl7Patient(key: string): Hl7Patient | string {
    const p = this.patients.get(key);
    if (!p?.nhsNumber || !p.firstName || !p.lastName || !p.dob || !p.sex)
      return `patient ${key} has no HL7 demographics in the configuration`;
    const nhsNumber = p.nhsNumber.replace(/[\s-]/g, "");
    if (!isValidNhsNumber(nhsNumber))
      return `patient ${key}: NHS number fails the Modulus 11 check, nothing sent`;
    return { nhsNumber, firstName: p.firstName, lastName: p.lastName, dob: p.dob, sex: p.sex };
  }

  /** One request: keeps the lease alive (a pass may take several), raises or clears the route's alerts. */
  private async exchange(lease: Lease, hl7: string, signal: AbortSignal, onSend: () => void) {
    // A lease lost (expired and reclaimed) means these rows may be someone else's now: send nothing.
    if (!this.o.buffer.outbox.keepAlive(lease))
      throw new HubError("LEASE_LOST", "lease expired before the message could be sent");
    onSend();
    const answer = interpret(await this.o.client.send(hl7, signal));
    const alerts = this.o.buffer.alerts;
    if ("blocked" in answer && answer.blocked) {
      if (!alerts.has(answer.blocked))
        this.o.logger.error({ alert: answer.blocked }, BLOCKED_TEXT[answer.blocked]);
      alerts.raise(answer.blocked, BLOCKED_TEXT[answer.blocked], this.o.clock.nowMs());
    } else if ("ack" in answer) {
      for (const code of Object.keys(BLOCKED_TEXT)) alerts.clear(code);
    }
    return answer;
  }

  /** Sends the patient's rows in order, one message at a time; stops at the first that must be tried again. */
  private async deliver(
    who: Recipient,
    rows: Claimed[],
    exchange: Exchange,
    settled: Settled[],
  ): Promise<void> {
    let pending = [...rows].sort((a, b) => a.id - b.id);
    let unit = this.nextUnit(pending);
    let ready = this.prepare(unit, who);
    while (pending.length > 0) {
      const sending = this.sendUnit(unit, ready, who, exchange);
      pending = pending.filter((r) => !unit.rows.includes(r));
      // While this message is in flight, the next one is built and stored (durably, before it is
      // ever sent, as always): its commit is off the critical path. It is sent only after this
      // one's answer, and only if that answer lets the rest go on.
      let next: Unit | undefined;
      let nextReady: StoredMessage | Outcome | undefined;
      let failed: { err: unknown } | undefined;
      try {
        next = pending.length > 0 ? this.nextUnit(pending) : undefined;
        nextReady = next ? this.prepare(next, who) : undefined;
      } catch (err) {
        failed = { err }; // thrown once this message's answer is recorded, as before
      }
      const outcome = await sending;
      settled.push({ ids: unit.rows.map((r) => r.id), outcome });
      if (failed) throw failed.err;
      if (next && nextReady) {
        unit = next;
        ready = nextReady;
      }
      if (outcome.kind === "retry" && pending.length > 0) {
        // Nothing overtakes: the rest waits (no attempt spent) until the head is settled.
        const wait: Outcome = { kind: "retry", error: "waiting behind an earlier message", retryAfterMs: 0 };
        settled.push({ ids: pending.map((r) => r.id), outcome: wait });
        return;
      }
    }
  }

  private nextUnit(pending: Claimed[]): Unit {
    const head = pending[0] as Claimed;
    const stored = this.store.forRow(head.id);
    if (stored) return { rows: pending.filter((r) => stored.rowIds.includes(r.id)), stored };
    if (head.item.type === "document") return { rows: [head] };
    // Consecutive readings up to the OBX limit (at least one); never a row already in a stored message.
    const rows: Claimed[] = [];
    let obx = 0;
    for (const r of pending) {
      if (r.item.type !== "reading") break;
      if (rows.length > 0 && this.store.forRow(r.id)) break;
      const n = r.item.reading.components.length;
      if (rows.length > 0 && obx + n > this.o.route.maxObservationsPerMessage) break;
      rows.push(r);
      obx += n;
    }
    return { rows };
  }

  /** The unit's stored message (built and stored now if it has none), or its outcome when nothing is to be sent. */
  private prepare(unit: Unit, who: Recipient): StoredMessage | Outcome {
    const msg = unit.stored;
    if (msg?.answer) return msg.answer;
    if (msg) return msg;
    const controlId = this.newControlId();
    let body: string;
    try {
      body = this.build(unit.rows, who.patient, who.key, controlId);
    } catch (err) {
      return { kind: "rejected", reason: `message cannot be built: ${reasonOf(err)}` };
    }
    return this.store.save(
      unit.rows.map((r) => r.id),
      controlId,
      body,
      this.o.clock.nowMs(),
    );
  }

  private async sendUnit(
    unit: Unit,
    ready: StoredMessage | Outcome,
    who: Recipient,
    exchange: Exchange,
  ): Promise<Outcome> {
    if ("kind" in ready) return ready;
    const msg = ready;
    // An ORU re-sent is stored again by PKB; a document re-sent replaces itself (TXA-12).
    const oru = unit.rows[0]?.item.type !== "document";
    if (oru && unit.stored) {
      // It may have reached PKB before: retracted first (or held, or re-sent) as routes.hl7.onAmbiguous says.
      const maybeSent = unit.rows.some((r) => r.ambiguous);
      const instead = await this.ambiguity.prepare(msg, maybeSent, exchange);
      if (instead) return this.finish(unit, msg, instead);
    }
    const answer = await exchange(msg.body);
    let outcome = settle(answer, msg.controlId, !oru);
    if (outcome.kind === "rejected" && "ack" in answer && meansPatientUnknown(answer.ack))
      outcome = this.patientUnknown(who, msg, outcome);
    if (oru) outcome = this.ambiguity.settled(msg, outcome);
    return this.finish(unit, msg, outcome);
  }

  /** Logs the message's outcome (never its content: PHI) and keeps it for rows not in this lease. */
  private finish(unit: Unit, msg: StoredMessage, outcome: Outcome): Outcome {
    this.o.logger.debug(
      {
        controlId: msg.controlId,
        rows: unit.rows.length,
        resend: unit.stored !== undefined,
        outcome: outcome.kind,
      },
      "HL7 message sent",
    );
    // Rows of this message not in this lease (a smaller limit after a restart) get the same answer later, unsent.
    if (outcome.kind !== "retry" && unit.rows.length < msg.rowIds.length)
      this.store.recordAnswer(msg.id, outcome);
    if (outcome.kind === "rejected")
      this.o.logger.warn({ rows: unit.rows.length }, "HL7 message rejected by PKB: kept as dead letter");
    if (outcome.kind === "ambiguous")
      this.o.logger.warn(
        { controlId: msg.controlId, rows: unit.rows.length },
        "HL7 message may have reached PKB and cannot be settled automatically: held as ambiguous for a person",
      );
    return outcome;
  }

  /**
   * PKB refused a message because it does not know the patient. Known only from the cache: the
   * record may have gone since, so the cache is cleared, the message forgotten (PKB did not take
   * it) and the rows asked about afresh (A19, then A28 only if PKB says so), spending no attempt.
   * Known from an A19 in this very pass: PKB contradicts itself, a person must look.
   */
  private patientUnknown(
    who: Recipient,
    msg: StoredMessage,
    refused: Outcome & { kind: "rejected" },
  ): Outcome {
    if (who.known === "confirmed")
      return {
        kind: "rejected",
        reason: `PKB lists the patient (A19) but refused the message as for an unknown patient: ${refused.reason}`,
      };
    this.workflow.forget(who.patient);
    this.store.forget(msg.id);
    this.o.logger.warn(
      { patient: who.key },
      "PKB did not know a patient cached as known: asking again (A19)",
    );
    return { kind: "retry", error: "PKB did not know the patient: asking again (A19)", retryAfterMs: 0 };
  }

  private build(rows: Claimed[], patient: Hl7Patient, key: string, controlId: string): string {
    const now = this.o.clock.nowMs();
    const head = rows[0] as Claimed;
    if (head.item.type === "document") {
      const d = head.item.document;
      const doc = {
        documentNumber: d.key,
        typeCode: String(d.typeCode ?? "DS"),
        title: String(d.title ?? "Document"),
        fileName: String(d.fileName ?? `${d.key}.pdf`),
        pdfBase64: checkedBase64(d.key, d.pdfBase64, this.o.route.maxDocumentBytes),
        createdMs: Number(d.createdMs ?? now),
      };
      return buildMdmT02(this.sender, patient, doc, controlId, now);
    }
    const readings = rows.flatMap((r) => (r.item.type === "reading" ? [r.item.reading] : []));
    // OBR-3.1, PKB's report id: derived from the first reading, so a rebuilt message (after a fix by hand) keeps it.
    const report = reportId(this.o.hubId, key, readings[0]?.key ?? controlId);
    return buildOruR01(this.sender, patient, readings, report, controlId, now, this.o.route);
  }

  /** After the outcomes are recorded: a message none of whose rows is open any more is forgotten. */
  private forgetAnswered(settled: Settled[]): void {
    const ids = settled.filter((s) => s.outcome.kind !== "retry").flatMap((s) => s.ids);
    if (ids.length === 0) return;
    try {
      this.store.forgetClosed(ids);
    } catch (err) {
      this.o.logger.warn({ err }, "could not forget answered HL7 messages (harmless; retried next time)");
    }
  }
}
