import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { HubBuffer } from "../../src/buffer/buffer.js";
import { parseConfig } from "../../src/config/load.js";
import type { Config } from "../../src/config/schema.js";
import { FakeClock } from "../../src/core/clock.js";
import { finishReading } from "../../src/core/finish.js";
import { silentLogger } from "../../src/core/log.js";
import { Hl7Forwarder } from "../../src/forward/hl7/forwarder.js";
import { soapClient } from "../../src/forward/hl7/route.js";
import { type Hl7Standin, startHl7Standin } from "../standin/hl7/server.js";
import { makeBuffer } from "../support/buffer.js";
import { tempDir } from "../support/tmp.js";
import { until } from "../support/wait.js";

let tmp: ReturnType<typeof tempDir>;
let pkb: Hl7Standin;
let buffer: HubBuffer;
let clock: FakeClock;
let forwarder: Hl7Forwarder | undefined;

beforeEach(async () => {
  tmp = tempDir();
  pkb = await startHl7Standin({ captureDir: join(tmp.dir, "capture") });
  clock = new FakeClock(Date.now());
  ({ buffer } = makeBuffer(join(tmp.dir, "data"), { clock, routeOf: () => "hl7" }));
  writeFileSync(join(tmp.dir, "password"), "partner-password\n", { mode: 0o600 });
});
afterEach(async () => {
  await forwarder?.stop();
  forwarder = undefined;
  buffer.close();
  await pkb.stop();
  tmp.cleanup();
});

function config(hl7: Record<string, unknown> = {}): Config {
  return parseConfig({
    hub: { id: "h", timeZone: "Europe/London", dataDir: tmp.dir },
    patients: [
      {
        key: "hl7-a",
        route: "hl7",
        nhsNumber: "9434765919",
        firstName: "Ann",
        lastName: "Example",
        dob: "1950-01-31",
        sex: "F",
      },
    ],
    routes: {
      hl7: {
        url: pkb.httpsUrl,
        caFile: pkb.caFile,
        username: "partner",
        passwordFile: join(tmp.dir, "password"),
        sendingFacility: "DEMOALIAS",
        maxObservationsPerMessage: 10,
        requestTimeoutMs: 500,
        ...hl7,
      },
    },
  });
}

function start(cfg = config()) {
  const route = cfg.routes.hl7 as NonNullable<Config["routes"]["hl7"]>;
  forwarder = new Hl7Forwarder({
    buffer,
    clock,
    logger: silentLogger(),
    route,
    patients: cfg.patients,
    timeZone: cfg.hub.timeZone,
    client: soapClient(route),
    idleMs: 10,
  });
  forwarder.start();
}

async function restart(cfg = config()) {
  await forwarder?.stop();
  start(cfg);
}

let n = 0;
const reading = () =>
  finishReading(
    {
      kind: "blood-pressure",
      components: [
        { id: "bp-systolic", value: 120 + (++n % 20), unit: "mm[Hg]" },
        { id: "bp-diastolic", value: 80, unit: "mm[Hg]" },
      ],
      seq: n,
    },
    {
      deviceId: "d",
      driver: "t",
      patient: "hl7-a",
      timeZone: "Europe/London",
      clock,
      receivedAtMs: clock.nowMs(),
    },
  );
/** PKB already holds the test patient's record. */
const knownToPkb = () =>
  pkb.registry.patients.set("9434765919", {
    nhsNumber: "9434765919",
    firstName: "A",
    lastName: "E",
    dob: "1950-01-31",
    sex: "F",
  });
const types = () => pkb.registry.received.map((r) => r.type);
const observations = () => pkb.registry.observationsFor("9434765919").length;

describe("HL7 workflow over HTTPS", () => {
  it("unknown patient: A19 → A28 → ORU; later batches skip straight to ORU; a backlog is batched", async () => {
    await buffer.ingest(Array.from({ length: 3 }, reading));
    start();
    await until(() => buffer.stats().byState.delivered === 3);
    expect(types()).toEqual(["QRY^A19", "ADT^A28", "ORU^R01"]);
    expect(observations()).toBe(6);
    await buffer.ingest(Array.from({ length: 12 }, reading)); // 24 observations, 10 per message
    await until(() => buffer.stats().byState.delivered === 15);
    expect(types().slice(3)).toEqual(["ORU^R01", "ORU^R01", "ORU^R01"]);
    expect(observations()).toBe(30);
    const captured = readFileSync(join(tmp.dir, "capture", "0003-ORU-R01.hl7"), "utf8");
    expect(captured.startsWith("MSH|^~\\&|PKBHUB|DEMOALIAS|HL7API|PKB|")).toBe(true);
    expect(captured.split("\r").length).toBeGreaterThan(3);
  });

  it("certificates are verified: an endpoint the hub cannot trust gets nothing", async () => {
    await buffer.ingest([reading()]);
    start(config({ caFile: undefined }));
    await until(() => (buffer.db.prepare("SELECT attempts FROM outbox").pluck().get() as number) >= 1);
    expect(pkb.registry.received).toHaveLength(0);
    expect(buffer.db.prepare("SELECT ambiguous FROM outbox").pluck().get()).toBe(0);
  });

  it("a patient PKB already knows is never created again", async () => {
    knownToPkb();
    await buffer.ingest([reading()]);
    start();
    await until(() => buffer.stats().byState.delivered === 1);
    expect(types()).toEqual(["QRY^A19", "ORU^R01"]);
  });

  it("as a no-access partner organisation (own id in MSH-4) as well as on behalf of a customer", async () => {
    await buffer.ingest([reading()]);
    start(
      config({
        identity: "no-access-partner",
        sendingFacility: "PARTNERORG",
        url: pkb.url,
        caFile: undefined,
      }),
    );
    await until(() => buffer.stats().byState.delivered === 1);
    await restart(config({ sendingFacility: "NOT-AN-ALIAS" }));
    await buffer.ingest([reading()]);
    await until(() => buffer.stats().deadLetters === 1);
    expect(buffer.outbox.deadLetters()[0]?.reason).toContain(
      "Sending facility is not a known organisation or alias",
    );
  });

  it("AR keeps PKB's text as a dead letter (no automatic retry); AE likewise", async () => {
    await buffer.ingest([reading()]);
    start(config({ snomed: { "bp-systolic": { code: "999999", unit: "mm[Hg]" } } }));
    await until(() => buffer.stats().deadLetters === 1);
    expect(buffer.outbox.deadLetters()[0]?.reason).toBe(
      "AR: Unknown measurement: SNOMED 999999 with unit mm[Hg]",
    );
    // Fixed by hand (the partner's SNOMED table corrected): the dead letter is re-sent, rebuilt.
    await restart();
    expect(buffer.outbox.retryDead({ route: "hl7" })).toBe(1);
    await until(() => buffer.stats().byState.delivered === 1);
    pkb.injectFaults({ kind: "ack", code: "AE", text: "Unexpected error" });
    await buffer.ingest([reading()]);
    await until(() => buffer.stats().deadLetters === 1 && buffer.stats().byState.pending === 0);
    expect(buffer.outbox.deadLetters()[0]?.reason).toBe("AE: Unexpected error");
  });

  it("SOAP fault, HTTP 500 and refused credentials are retried, never dead-lettered", async () => {
    await buffer.ingest([reading()]);
    knownToPkb();
    buffer.kvSet("hl7:patient:hl7-a", "known");
    pkb.injectFaults({ kind: "soap-fault" }, { kind: "status", status: 500 });
    start();
    const attempts = () => buffer.db.prepare("SELECT attempts FROM outbox").pluck().get() as number;
    for (let i = 1; i <= 2; i++) {
      await until(() => attempts() === i && buffer.stats().byState.leased === 0);
      clock.advance(600_000);
    }
    await until(() => buffer.stats().byState.delivered === 1);
    writeFileSync(join(tmp.dir, "wrong"), "nope", { mode: 0o600 });
    await restart(config({ passwordFile: join(tmp.dir, "wrong") }));
    await buffer.ingest([reading()]);
    await until(
      () =>
        (buffer.db
          .prepare("SELECT count(*) FROM outbox WHERE last_error LIKE '%credentials refused%'")
          .pluck()
          .get() as number) === 1,
    );
    expect(buffer.stats().deadLetters).toBe(0);
  });

  it("no answer after sending: the identical message (same MSH-10 and OBR-3.1) is re-sent and counted ambiguous", async () => {
    knownToPkb();
    buffer.kvSet("hl7:patient:hl7-a", "known");
    pkb.injectFaults({ kind: "accept-then-hang" });
    await buffer.ingest([reading(), reading()]);
    start();
    await until(() => pkb.registry.received.length === 1 && buffer.stats().byState.leased === 0);
    clock.advance(600_000);
    await until(() => buffer.stats().byState.delivered === 2);
    const [first, second] = pkb.registry.received;
    expect(second?.controlId).toBe(first?.controlId);
    expect(pkb.registry.duplicateReports).toBe(1); // same report id: PKB can tell it is a resend
    expect(buffer.stats().ambiguousDeliveries).toBe(2);
  });

  it("restart in the middle of the workflow: no second A28, no duplicate ORU", async () => {
    // The A19 is answered; the A28 is processed by PKB but its answer never reaches the hub.
    pkb.injectFaults({ kind: "none" }, { kind: "accept-then-hang" });
    await buffer.ingest([reading()]);
    start();
    await until(
      () =>
        types().includes("ADT^A28") &&
        buffer.stats().byState.leased === 0 &&
        buffer.stats().byState.pending === 1,
    );
    expect(buffer.kvGet("hl7:patient:hl7-a")).toBe("a28-sent");
    await restart();
    clock.advance(600_000);
    await until(() => buffer.stats().byState.delivered === 1);
    expect(types()).toEqual(["QRY^A19", "ADT^A28", "QRY^A19", "ORU^R01"]);
    await restart();
    await buffer.ingest([reading()]);
    await until(() => buffer.stats().byState.delivered === 2);
    expect(types().filter((t) => t === "ADT^A28")).toHaveLength(1);
    expect(pkb.registry.duplicateReports).toBe(0);
  });

  it("documents go as MDM^T02", async () => {
    knownToPkb();
    buffer.enqueueDocument(
      {
        key: "doc-0001",
        patient: "hl7-a",
        kind: "summary",
        title: "Session summary",
        typeCode: "DS",
        fileName: "s.pdf",
        pdfBase64: "JVBERi0xLjQ=",
      },
      "hl7",
    );
    start();
    await until(() => buffer.stats().byState.delivered === 1);
    expect(pkb.registry.documents.get("doc-0001")).toMatchObject({ type: "DS" });
  });
});
