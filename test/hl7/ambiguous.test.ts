import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { HubBuffer } from "../../src/buffer/buffer.js";
import { FakeClock } from "../../src/core/clock.js";
import { silentLogger } from "../../src/core/log.js";
import { type OnAmbiguous, OruAmbiguity } from "../../src/forward/hl7/ambiguous.js";
import { buildOruR01 } from "../../src/forward/hl7/messages.js";
import { interpret } from "../../src/forward/hl7/outcome.js";
import { Hl7RetractionStore } from "../../src/forward/hl7/retractions.js";
import { Hl7MessageStore, type StoredMessage } from "../../src/forward/hl7/store.js";
import { soapAnswer } from "../standin/hl7/ack-variants.js";
import { PkbHl7Registry } from "../standin/hl7/pkb-hl7.js";
import { makeBuffer } from "../support/buffer.js";
import { tempDir } from "../support/tmp.js";
import { bpReading, NOW, SCT, sender } from "./fixtures.js";
import { NHS } from "./harness.js";

const patient = { nhsNumber: NHS, firstName: "Ann", lastName: "Example", dob: "1950-01-31", sex: "F" };
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A real buffer with one stored ORU for one outbox row, and PKB's HL7 logic answering in-process. */
async function setUp() {
  const tmp = tempDir("pkb-hl7-amb-");
  const clock = new FakeClock(NOW);
  const { buffer } = makeBuffer(join(tmp.dir, "data"), { clock, routeOf: () => "hl7" });
  cleanups.push(() => {
    buffer.close();
    tmp.cleanup();
  });
  const reading = bpReading();
  await buffer.ingest([{ ...reading, patient: "hl7-a" }]);
  const body = buildOruR01(sender(), patient, [reading], "rep-1", "orig-1", NOW, SCT);
  const msg = new Hl7MessageStore(buffer.db).save([1], "orig-1", body, NOW);
  const pkb = new PkbHl7Registry(["DEMOALIAS"]);
  pkb.patients.set(NHS, { ...patient });
  const exchange = async (hl7: string) => interpret({ status: 200, body: soapAnswer(pkb.handle(hl7)) });
  let n = 0;
  const ambiguity = (policy: OnAmbiguous = "retract") =>
    new OruAmbiguity({
      retractions: new Hl7RetractionStore(buffer.db),
      policy,
      settleMs: 1000,
      nowMs: () => buffer.timebase.nowMs(),
      wallMs: () => clock.nowMs(),
      newControlId: () => `retr-${++n}`,
      messageTime: () => "20260701123005",
      logger: silentLogger(),
    });
  return { buffer, clock, msg, pkb, exchange, ambiguity };
}

const states = (buffer: HubBuffer) =>
  buffer.db.prepare("SELECT control_id || ':' || state FROM hl7_retractions").pluck().all();

describe("OruAmbiguity (retract): every step in SQLite before the request that depends on it", () => {
  it("a crash while the original was being re-sent (state resending, no outcome recorded): the next start retracts afresh after the settle delay", async () => {
    const { buffer, clock, msg, pkb, exchange, ambiguity } = await setUp();
    await exchange(msg.body); // the first copy lands; its answer is lost
    const first = ambiguity();
    expect(first.settled(msg, { kind: "retry", error: "timeout", ambiguous: true })).toMatchObject({
      kind: "retry",
      ambiguous: true,
    });
    expect(states(buffer)).toEqual(["retr-1:pending"]);
    expect(await first.prepare(msg, true, exchange)).toMatchObject({ kind: "retry", retryAfterMs: 1000 });
    clock.advance(1000);
    expect(await first.prepare(msg, true, exchange)).toBeUndefined(); // retracted (AA): the original may go
    expect(states(buffer)).toEqual(["retr-1:resending"]);
    await exchange(msg.body); // …it lands, and the agent dies before recording anything
    expect(pkb.liveCopies("rep-1")).toBe(1);

    const next = ambiguity(); // a new process, the same file
    expect(await next.prepare(msg, true, exchange)).toMatchObject({ kind: "retry", retryAfterMs: 1000 });
    expect(states(buffer)).toEqual(["retr-2:pending"]);
    clock.advance(1000);
    expect(await next.prepare(msg, true, exchange)).toBeUndefined();
    expect(pkb.liveCopies("rep-1")).toBe(0);
    await exchange(msg.body);
    expect(next.settled(msg, { kind: "delivered" })).toEqual({ kind: "delivered" });
    expect(pkb.liveCopies("rep-1")).toBe(1);
  });

  it("a crash after the retraction left and before its answer was recorded: it is not followed by the original before the settle delay", async () => {
    const { buffer, clock, msg, pkb, exchange, ambiguity } = await setUp();
    const first = ambiguity();
    first.settled(msg, { kind: "ambiguous", reason: "unreadable" });
    clock.advance(1000);
    let cut = "";
    // The retraction leaves; the process dies before PKB's answer is read.
    await first
      .prepare(msg, true, async (hl7) => {
        cut = hl7;
        throw new Error("killed");
      })
      .catch(() => undefined);
    expect(await ambiguity().prepare(msg, true, exchange)).toMatchObject({
      kind: "retry",
      retryAfterMs: 1000,
    });
    expect(pkb.received).toHaveLength(0);
    clock.advance(1000);
    const sent: string[] = [];
    expect(
      await ambiguity().prepare(msg, true, (hl7) => {
        sent.push(hl7);
        return exchange(hl7);
      }),
    ).toBeUndefined();
    expect(sent).toEqual([cut]); // the same stored retraction, byte for byte
    expect(states(buffer)).toEqual(["retr-1:resending"]);
  });

  it("a row not flagged ambiguous, with no retraction stored, goes straight out (a first send); hold and resend never retract", async () => {
    const { buffer, msg, exchange, ambiguity, pkb } = await setUp();
    expect(await ambiguity().prepare(msg, false, exchange)).toBeUndefined();
    const timeout = { kind: "retry", error: "request timed out", ambiguous: true } as const;
    expect(ambiguity("hold").settled(msg, timeout)).toEqual({
      kind: "ambiguous",
      reason: "request timed out: PKB may have stored the message",
    });
    expect(ambiguity("resend").settled(msg, timeout)).toEqual(timeout);
    expect(await ambiguity("resend").prepare(msg, true, exchange)).toBeUndefined();
    expect(states(buffer)).toEqual([]);
    expect(pkb.received).toHaveLength(0);
  });

  it("the stored retraction goes with its message", async () => {
    const { buffer, msg, ambiguity } = await setUp();
    ambiguity().settled(msg, { kind: "ambiguous", reason: "unreadable" });
    expect(states(buffer)).toHaveLength(1);
    new Hl7MessageStore(buffer.db).forget((msg as StoredMessage).id);
    expect(states(buffer)).toEqual([]);
  });
});
