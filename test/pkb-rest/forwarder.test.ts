import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HubError } from "../../src/core/errors.js";
import { finishReading } from "../../src/core/finish.js";
import { createLogger, silentLogger } from "../../src/core/log.js";
import type { Reading } from "../../src/core/reading.js";
import { PkbRestForwarder, relinkNeeded, type TokenProvider } from "../../src/forward/pkb-rest/forwarder.js";
import { pkbMeasurementJson, toPkbMeasurement } from "../../src/forward/pkb-rest/measurement-map.js";
import { startPkbApiStandin } from "../standin/pkb-api.js";
import { testContext } from "../support/context.js";
import { contourFrameIntoBuffer } from "../support/contour.js";
import { ANN } from "../support/pkb-patients.js";
import { type RestFixture, startRestFixture } from "../support/pkb-rest.js";
import { until } from "../support/wait.js";

let f: RestFixture;
let buffer: RestFixture["buffer"];
let clock: RestFixture["clock"];
let pkb: RestFixture["pkb"]["api"];
let forwarder: PkbRestForwarder | undefined;
let tokens: { current: string; relink: boolean; refreshes: number; down: boolean };
const patient = ANN;

beforeEach(async () => {
  f = await startRestFixture();
  ({ buffer, clock } = f);
  pkb = f.pkb.api;
  // Bearer tokens registered directly: these tests drive the forwarder with a token double.
  pkb.addToken("token-1", patient.id);
  tokens = { current: "token-1", relink: false, refreshes: 0, down: false };
});
afterEach(async () => {
  await forwarder?.stop();
  forwarder = undefined;
  await f.close();
});

const provider: TokenProvider = {
  accessToken: async (p) => {
    if (tokens.relink) throw relinkNeeded(p);
    if (tokens.down) throw new HubError("NETWORK", "token endpoint unreachable");
    return tokens.current;
  },
  refresh: async () => {
    tokens.refreshes++;
    tokens.current = `token-${tokens.refreshes + 1}`;
    pkb.addToken(tokens.current, patient.id);
    return tokens.current;
  },
};

function start(
  timeoutMs = 2000,
  baseUrl = pkb.url,
  logger = silentLogger(),
  onAmbiguous: "reconcile" | "hold" | "resend" = "reconcile",
  reconcileAfterSec?: number,
) {
  forwarder = new PkbRestForwarder({
    buffer,
    clock,
    logger,
    baseUrl,
    tokens: provider,
    fetch,
    concurrency: 2,
    requestTimeoutMs: timeoutMs,
    idleMs: 10,
    onAmbiguous,
    ...(reconcileAfterSec === undefined ? {} : { reconcileAfterSec }),
  });
  forwarder.start();
}

const reading = (n: number, kind: "bp" | "glucose" = "bp") =>
  finishReading(
    kind === "bp"
      ? {
          kind: "blood-pressure",
          components: [
            { id: "bp-systolic", value: 120 + n, unit: "mm[Hg]" },
            { id: "bp-diastolic", value: 80, unit: "mm[Hg]" },
            { id: "bp-mean", value: 93, unit: "mm[Hg]" },
            { id: "pulse-rate", value: 70, unit: "/min" },
          ],
          seq: n,
        }
      : { kind: "glucose", components: [{ id: "glucose", value: 99, unit: "mg/dL" }], seq: n },
    {
      deviceId: "d",
      driver: "t",
      patient: "p1",
      timeZone: "Europe/London",
      clock,
      receivedAtMs: clock.nowMs(),
    },
  );

describe("measurement mapping", () => {
  it("maps readings to PKB types and units in one table, converting where PKB wants other units", () => {
    expect(toPkbMeasurement(reading(0, "glucose")).values).toEqual([
      { name: "glucose", value: "5.5", unit: "mmol/L" },
    ]);
    const bp = toPkbMeasurement(reading(1));
    expect(bp.type).toBe("BLOOD_PRESSURE");
    expect(bp.values.map((v) => v.name)).toEqual(["systolic", "diastolic", "pulse"]);
  });

  it("values are written as formatValue's decimal text (never exponent notation) and the reading's flags are carried", () => {
    const hi = finishReading(
      {
        kind: "glucose",
        components: [{ id: "glucose", value: 600, unit: "mg/dL" }],
        seq: 7,
        flags: ["above-measuring-range:glucose", "ambiguous-local-time"],
      },
      { deviceId: "d", driver: "t", patient: "p1", timeZone: "UTC", clock, receivedAtMs: clock.nowMs() },
    );
    const json = pkbMeasurementJson(toPkbMeasurement(hi));
    expect(json).toContain('"values":[{"name":"glucose","value":33.3,"unit":"mmol/L"}]');
    expect(JSON.parse(json)).toMatchObject({
      type: "BLOOD_GLUCOSE",
      flags: hi.flags,
      values: [{ name: "glucose", value: 33.3, unit: "mmol/L" }],
    });
    expect(hi.flags).toContain("above-measuring-range:glucose");
    expect(() =>
      pkbMeasurementJson({
        ...toPkbMeasurement(hi),
        values: [{ name: "glucose", value: "1e-7", unit: "mmol/L" }],
      }),
    ).toThrow(expect.objectContaining({ code: "READING_INVALID" }));
  });
});

describe("PKB REST forwarder against the stand-in", () => {
  it("2xx: delivered, each measurement once in the patient's record", async () => {
    await buffer.ingest([reading(1), reading(2), reading(3, "glucose")]);
    start();
    await until(() => buffer.stats().byState.delivered === 3);
    expect(pkb.records(patient.id)).toHaveLength(3);
    const inspected = (await (await fetch(`${pkb.url}/standin/records/${patient.id}`)).json()) as unknown[];
    expect(inspected).toHaveLength(3);
  });

  it("a backlog goes in batches, two leases at once, yet never more requests in flight than the route's concurrency", async () => {
    await buffer.ingest(Array.from({ length: 40 }, (_, i) => reading(i)));
    let active = 0;
    let peak = 0;
    const counting: typeof fetch = async (input, init) => {
      active++;
      peak = Math.max(peak, active);
      try {
        return await fetch(input, init);
      } finally {
        active--;
      }
    };
    pkb.setLatencyMs(5);
    forwarder = new PkbRestForwarder({
      buffer,
      clock,
      logger: silentLogger(),
      baseUrl: pkb.url,
      tokens: provider,
      fetch: counting,
      concurrency: 2,
      requestTimeoutMs: 2000,
      idleMs: 10,
    });
    forwarder.start();
    await until(() => buffer.stats().byState.delivered === 40);
    expect(peak).toBe(2);
    expect(pkb.records(patient.id)).toHaveLength(40);
  });

  it("a flagged reading arrives flagged: HI (above the measuring range), out of range, ambiguous local time", async () => {
    const flagged = finishReading(
      {
        kind: "glucose",
        components: [{ id: "glucose", value: 600, unit: "mg/dL" }],
        seq: 1,
        flags: ["above-measuring-range:glucose", "out-of-range:glucose", "ambiguous-local-time"],
      },
      { deviceId: "d", driver: "t", patient: "p1", timeZone: "UTC", clock, receivedAtMs: clock.nowMs() },
    );
    await buffer.ingest([flagged, reading(2)]);
    start();
    await until(() => buffer.stats().byState.delivered === 2);
    const [first, second] = pkb.records(patient.id);
    expect(first?.flags).toEqual(flagged.flags);
    expect(first?.flags).toEqual(
      expect.arrayContaining([
        "above-measuring-range:glucose",
        "out-of-range:glucose",
        "ambiguous-local-time",
      ]),
    );
    expect(first?.values).toEqual([{ name: "glucose", value: 33.3, unit: "mmol/L" }]);
    expect(second?.flags).toEqual([]);
  });

  it("a Contour HI result (marker >) taken from the meter's frame arrives at the stand-in flagged above the measuring range, not as an exact value", async () => {
    await contourFrameIntoBuffer(testContext(buffer, clock, f.dir), "p1");
    start();
    await until(() => buffer.stats().byState.delivered === 1);
    const [record] = pkb.records(patient.id);
    expect(record?.flags).toEqual(["above-measuring-range:glucose"]);
    expect(record?.values).toEqual([{ name: "glucose", value: 33.3, unit: "mmol/L" }]);
  });

  it("401: refreshes once and delivers with the new token", async () => {
    pkb.revokeToken("token-1");
    await buffer.ingest([reading(1)]);
    start();
    await until(() => buffer.stats().byState.delivered === 1);
    expect(tokens.refreshes).toBe(1);
  });

  it("429 with Retry-After waits without spending an attempt", async () => {
    pkb.injectFaults({ kind: "status", status: 429, retryAfter: "30" });
    await buffer.ingest([reading(1)]);
    start();
    await until(() => pkb.requests() === 1 && buffer.stats().byState.pending === 1);
    const row = buffer.db.prepare("SELECT attempts, available_ms FROM outbox").get() as {
      attempts: number;
      available_ms: number;
    };
    expect(row.attempts).toBe(0);
    expect(row.available_ms).toBe(clock.nowMs() + 30_000);
    clock.advance(30_000);
    await until(() => buffer.stats().byState.delivered === 1);
  });

  it("5xx and connection resets back off and are retried", async () => {
    pkb.injectFaults({ kind: "status", status: 500 }, { kind: "reset" });
    await buffer.ingest([reading(1)]);
    start();
    const attempts = () => buffer.db.prepare("SELECT attempts FROM outbox").pluck().get() as number;
    for (let i = 1; i <= 2; i++) {
      await until(() => attempts() === i && buffer.stats().byState.leased === 0);
      clock.advance(120_000);
    }
    await until(() => buffer.stats().byState.delivered === 1);
    expect(buffer.db.prepare("SELECT attempts, ambiguous FROM outbox").get()).toEqual({
      attempts: 2,
      ambiguous: 1,
    });
  });

  it("a request that times out is retried and marked ambiguous", async () => {
    pkb.injectFaults({ kind: "accept-then-hang" });
    await buffer.ingest([reading(1)]);
    start(200);
    await until(
      () =>
        buffer.stats().byState.pending === 1 && pkb.requests() === 1 && buffer.stats().byState.leased === 0,
    );
    clock.advance(120_000);
    await until(() => buffer.stats().byState.delivered === 1);
    expect(buffer.stats().ambiguousDeliveries).toBe(1);
  });

  describe("exactly once: a measurement that may have reached PKB is read back before any re-send", () => {
    /** Waits until the reading is back in `pending` after `requests` requests, then lets its retry come. */
    async function thenRetry(requests: number) {
      await until(
        () =>
          pkb.requests() === requests &&
          buffer.stats().byState.pending === 1 &&
          buffer.stats().byState.leased === 0,
      );
      clock.advance(120_000);
      forwarder?.poke();
    }

    it("PKB stored it but the answer was lost: the read-back finds it, nothing is sent again", async () => {
      pkb.injectFaults({ kind: "accept-then-hang" });
      await buffer.ingest([reading(1)]);
      start(200);
      await thenRetry(1);
      await until(() => buffer.stats().byState.delivered === 1);
      expect(pkb.records(patient.id)).toHaveLength(1);
      // The POST that timed out and the read-back: no second POST.
      expect(pkb.requests()).toBe(2);
    });

    it("PKB never got it: the read-back does not find it, it is sent once more", async () => {
      pkb.injectFaults({ kind: "hang" });
      await buffer.ingest([reading(1)]);
      start(200);
      await thenRetry(1);
      await until(() => buffer.stats().byState.delivered === 1);
      expect(pkb.records(patient.id)).toHaveLength(1);
      expect(pkb.requests()).toBe(3);
    });

    it("PKB does not echo our external id: the measurement is recognised by type, time and values", async () => {
      pkb.setEchoExternalId(false);
      pkb.injectFaults({ kind: "accept-then-hang" });
      const other = reading(2);
      await buffer.ingest([reading(1)]);
      start(200);
      await thenRetry(1);
      await until(() => buffer.stats().byState.delivered === 1);
      expect(pkb.records(patient.id)).toHaveLength(1);
      // A different measurement (another value) is not taken for it.
      await buffer.ingest([other]);
      forwarder?.poke();
      await until(() => buffer.stats().byState.delivered === 2);
      expect(pkb.records(patient.id)).toHaveLength(2);
    });

    it("the read-back fails (500, then a timeout): nothing is re-sent until it succeeds", async () => {
      pkb.injectFaults({ kind: "accept-then-hang" }, { kind: "status", status: 500 }, { kind: "hang" });
      await buffer.ingest([reading(1)]);
      start(200);
      await thenRetry(1);
      await until(() => pkb.requests() === 2 && buffer.stats().byState.pending === 1);
      expect(buffer.db.prepare("SELECT last_error, ambiguous FROM outbox").get()).toEqual({
        last_error: "read-back before re-sending failed: HTTP 500",
        ambiguous: 1,
      });
      await thenRetry(2);
      await thenRetry(3);
      await until(() => buffer.stats().byState.delivered === 1);
      expect(pkb.records(patient.id)).toHaveLength(1);
      expect(pkb.requests()).toBe(4);
    });

    it("the read-back waits reconcileAfterSec: a POST whose answer is lost and that lands at PKB late is not sent twice (with 0 the race is shown), and other readings do not wait", async () => {
      const copies = (r: { key: string }) => pkb.records(patient.id).filter((m) => m.externalId === r.key);
      const row = (r: { key: string }) =>
        buffer.db
          .prepare(
            "SELECT o.state, o.available_ms AS availableMs FROM outbox o JOIN readings r ON r.id = o.reading_id WHERE r.key = ?",
          )
          .get(r.key) as { state: string; availableMs: number };
      /** POSTs `late` (the client gives up at 0.2 s, PKB stores it when the test says) and `other`; then 5 s pass on the hub. */
      async function race(reconcileAfterSec: number, late: Reading, other: Reading) {
        pkb.injectFaults({ kind: "land-late" });
        await buffer.ingest([late]);
        start(200, pkb.url, silentLogger(), "reconcile", reconcileAfterSec);
        await until(() => row(late).state === "pending" && copies(late).length === 0);
        // The other reading goes while the first one waits for its read-back.
        await buffer.ingest([other]);
        forwarder?.poke();
        await until(() => row(other).state === "delivered");
        clock.advance(5_000); // longer than the backoff (at most 1 s here)
        forwarder?.poke();
      }

      // reconcileAfterSec 0: the read-back comes before the measurement lands, finds nothing, and re-sends.
      const [a, b] = [reading(1), reading(2)];
      await race(0, a, b);
      await until(() => row(a).state === "delivered" && copies(a).length === 1);
      expect(pkb.landLate()).toBe(1);
      expect(copies(a)).toHaveLength(2);
      await forwarder?.stop();

      // 60 s: the row waits (others do not), the late POST lands, the read-back finds it: one copy.
      const [c, d] = [reading(3), reading(4)];
      const requestsBefore = pkb.requests();
      await race(60, c, d);
      expect(row(c).state).toBe("pending");
      expect(row(c).availableMs).toBeGreaterThanOrEqual(buffer.timebase.nowMs() + 50_000);
      await new Promise((done) => setTimeout(done, 200));
      expect(row(c).state).toBe("pending");
      expect(pkb.landLate()).toBe(1);
      clock.advance(60_000);
      forwarder?.poke();
      await until(() => row(c).state === "delivered");
      expect(copies(c)).toHaveLength(1);
      expect(copies(d)).toHaveLength(1);
      // The POST that lost its answer, the other reading's POST, the read-back: nothing sent twice.
      expect(pkb.requests() - requestsBefore).toBe(3);
    });

    it("an unreadable 2xx is reconciled the same way: one copy, delivered without a person", async () => {
      pkb.injectFaults({
        kind: "accept-then-answer",
        status: 200,
        body: "<html>ok</html>",
        contentType: "text/html",
      });
      await buffer.ingest([reading(1)]);
      start();
      await thenRetry(1);
      await until(() => buffer.stats().byState.delivered === 1);
      expect(pkb.records(patient.id)).toHaveLength(1);
      expect(buffer.alerts.list().map((a) => a.code)).not.toContain("AMBIGUOUS_DELIVERY");
    });

    it("onAmbiguous: hold parks a timed-out measurement for a person; resend sends it again (two copies)", async () => {
      pkb.injectFaults({ kind: "accept-then-hang" });
      await buffer.ingest([reading(1)]);
      start(200, pkb.url, silentLogger(), "hold");
      await until(() => buffer.stats().byState.ambiguous === 1);
      expect(buffer.alerts.list().map((a) => a.code)).toContain("AMBIGUOUS_DELIVERY");
      await forwarder?.stop();
      pkb.injectFaults({ kind: "accept-then-hang" });
      const second = reading(2);
      await buffer.ingest([second]);
      start(200, pkb.url, silentLogger(), "resend");
      await thenRetry(2);
      await until(() => buffer.stats().byState.delivered === 1);
      expect(pkb.records(patient.id).filter((m) => m.externalId === second.key)).toHaveLength(2);
    });
  });

  it("onAmbiguous: hold — a 2xx the route cannot read (HTML, not JSON, no id, empty) is ambiguous: never re-sent, a person is told", async () => {
    const answers = [
      { status: 200, body: "<html><body>Please sign in</body></html>", contentType: "text/html" },
      { status: 201, body: "created", contentType: "text/plain" },
      { status: 201, body: '{"status":"ok"}' },
      { status: 204, body: "" },
    ];
    pkb.injectFaults(...answers.map((a) => ({ kind: "accept-then-answer" as const, ...a })));
    await buffer.ingest([reading(1), reading(2), reading(3), reading(4)]);
    start(2000, pkb.url, silentLogger(), "hold");
    await until(() => buffer.stats().byState.ambiguous === 4);
    clock.advance(24 * 3_600_000);
    forwarder?.poke();
    await new Promise((r) => setTimeout(r, 150));
    // Each was stored once by PKB, and none was sent again.
    expect(pkb.records(patient.id)).toHaveLength(4);
    expect(pkb.requests()).toBe(4);
    // Sent two at a time: which reading got which answer varies, the four outcomes do not.
    expect(buffer.db.prepare("SELECT state, attempts, reason FROM outbox ORDER BY reason").all()).toEqual([
      {
        state: "ambiguous",
        attempts: 1,
        reason: "PKB answered HTTP 200 but with a body that is not JSON: it may have stored the measurement",
      },
      {
        state: "ambiguous",
        attempts: 1,
        reason: "PKB answered HTTP 201 but with a body that is not JSON: it may have stored the measurement",
      },
      {
        state: "ambiguous",
        attempts: 1,
        reason:
          "PKB answered HTTP 201 but with no id of the created measurement: it may have stored the measurement",
      },
      {
        state: "ambiguous",
        attempts: 1,
        reason: "PKB answered HTTP 204 but with an empty body: it may have stored the measurement",
      },
    ]);
    expect(buffer.alerts.list().map((a) => a.code)).toContain("AMBIGUOUS_DELIVERY");
  });

  it("Retry-After is read by the shared parser: capped at an hour, not a day; a value that is not Retry-After spends an attempt", async () => {
    pkb.injectFaults(
      { kind: "status", status: 503, retryAfter: "99999999" },
      { kind: "status", status: 429, retryAfter: "1.5" },
    );
    await buffer.ingest([reading(1)]);
    start();
    const row = () =>
      buffer.db.prepare("SELECT state, attempts, available_ms FROM outbox").get() as {
        state: string;
        attempts: number;
        available_ms: number;
      };
    await until(() => pkb.requests() === 1 && row().state === "pending");
    expect(row()).toEqual({ state: "pending", attempts: 0, available_ms: clock.nowMs() + 3_600_000 });
    clock.advance(3_600_000);
    forwarder?.poke();
    await until(() => pkb.requests() === 2 && row().state === "pending");
    expect(row().attempts).toBe(1);
  });

  it("other 4xx: dead letter with PKB's message", async () => {
    pkb.injectFaults({ kind: "status", status: 400, message: "wrong unit kPa for BLOOD_PRESSURE.systolic" });
    await buffer.ingest([reading(1)]);
    start();
    await until(() => buffer.stats().deadLetters === 1);
    expect(buffer.outbox.deadLetters()[0]?.reason).toBe(
      "HTTP 400: wrong unit kPa for BLOOD_PRESSURE.systolic",
    );
  });

  it("relink needed: readings keep buffering without spending attempts, and go once the link is back", async () => {
    tokens.relink = true;
    await buffer.ingest([reading(1), reading(2)]);
    start();
    await until(
      () =>
        (buffer.db
          .prepare("SELECT count(*) FROM outbox WHERE last_error LIKE '%re-link%'")
          .pluck()
          .get() as number) === 2,
    );
    expect(buffer.db.prepare("SELECT max(attempts) FROM outbox").pluck().get()).toBe(0);
    tokens.relink = false;
    clock.advance(5 * 60_000);
    await until(() => buffer.stats().byState.delivered === 2);
    expect(pkb.records(patient.id)).toHaveLength(2);
  });

  it("token endpoint down: nothing is sent and no attempt is spent; delivered once it is back", async () => {
    tokens.down = true;
    await buffer.ingest([reading(1)]);
    start();
    await until(
      () =>
        (buffer.db.prepare("SELECT last_error FROM outbox").pluck().get() as string | null)?.includes(
          "NETWORK",
        ) === true && buffer.stats().byState.leased === 0,
    );
    expect(buffer.db.prepare("SELECT attempts, ambiguous FROM outbox").get()).toEqual({
      attempts: 0,
      ambiguous: 0,
    });
    expect(pkb.requests()).toBe(0);
    tokens.down = false;
    clock.advance(30_000);
    await until(() => buffer.stats().byState.delivered === 1);
  });

  it("a token problem is logged once (code only, no token), not once per waiting reading", async () => {
    tokens.down = true;
    const lines: string[] = [];
    await buffer.ingest([reading(1), reading(2), reading(3)]);
    start(
      2000,
      pkb.url,
      createLogger({ level: "info", destination: { write: (l: string) => lines.push(l) } }),
    );
    await until(
      () =>
        (buffer.db
          .prepare("SELECT count(*) FROM outbox WHERE last_error IS NOT NULL")
          .pluck()
          .get() as number) === 3 && buffer.stats().byState.leased === 0,
    );
    const warned = lines.filter((l) => l.includes("no PKB access token"));
    expect(warned).toHaveLength(1);
    expect(JSON.parse(warned[0] as string)).toMatchObject({ code: "NETWORK", step: "token" });
  });

  it("401 again after the refresh: one retry spent, not a dead letter", async () => {
    pkb.injectFaults({ kind: "status", status: 401 }, { kind: "status", status: 401 });
    await buffer.ingest([reading(1)]);
    start();
    await until(() => pkb.requests() === 2 && buffer.stats().byState.leased === 0);
    expect(tokens.refreshes).toBe(1);
    expect(buffer.db.prepare("SELECT state, attempts, last_error FROM outbox").get()).toEqual({
      state: "pending",
      attempts: 1,
      last_error: "HTTP 401 after refresh",
    });
  });

  it("connection refused: retried with backoff, not ambiguous (the request never left)", async () => {
    const closed = await startPkbApiStandin();
    const deadUrl = closed.url;
    await closed.stop();
    await buffer.ingest([reading(1)]);
    start(2000, deadUrl);
    await until(
      () =>
        (buffer.db.prepare("SELECT attempts FROM outbox").pluck().get() as number) === 1 &&
        buffer.stats().byState.leased === 0,
    );
    expect(buffer.db.prepare("SELECT ambiguous, last_error FROM outbox").get()).toEqual({
      ambiguous: 0,
      last_error: "network error (ECONNREFUSED)",
    });
  });
});
