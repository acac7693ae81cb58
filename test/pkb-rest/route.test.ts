import { chmodSync, copyFileSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type RouteComponent, reclaimWaitsMs } from "../../src/agent/routes.js";
import { SecretBox } from "../../src/core/secrets.js";
import { pkbMeasurementJson, toPkbMeasurement } from "../../src/forward/pkb-rest/measurement-map.js";
import {
  createPkbRestRoute,
  EXPOSED_ALERT,
  RELINK_ALERT,
  tokenStore,
} from "../../src/forward/pkb-rest/route.js";
import { accountTag } from "../../src/forward/pkb-rest/token-store.js";
import { testContext } from "../support/context.js";
import { ANN, BOB } from "../support/pkb-patients.js";
import { type RestFixture, startRestFixture } from "../support/pkb-rest.js";
import { until } from "../support/wait.js";

const ann = ANN;

let f: RestFixture;
let route: RouteComponent | undefined;
let pkb: RestFixture["pkb"];
let buffer: RestFixture["buffer"];
let clock: RestFixture["clock"];
let dataDir: string;

beforeEach(async () => {
  f = await startRestFixture();
  ({ pkb, buffer, clock, dataDir } = f);
});
afterEach(async () => {
  await route?.stop();
  route = undefined;
  await f.close();
});

const link = () => f.link(ann.id);

async function startRoute() {
  route = createPkbRestRoute({ ...testContext(buffer, clock, dataDir), config: f.config });
  expect(route?.route).toBe("pkb-rest");
  await route?.start();
}

const reading = (n: number) => f.reading(n);

/** The relink alert's text, if raised. */
const relinkAlert = () => buffer.alerts.list().find((a) => a.code === RELINK_ALERT)?.message;

describe("pkb-rest route in the agent", () => {
  it("delivers through the patient's OAuth link; an expired access token is refreshed once", async () => {
    await link();
    await startRoute();
    await buffer.ingest([reading(1)]);
    route?.poke();
    await until(() => buffer.stats().byState.delivered === 1);
    pkb.expireAccessTokens(ann.id);
    const before = pkb.tokenRequests();
    await buffer.ingest([reading(2)]);
    route?.poke();
    await until(() => buffer.stats().byState.delivered === 2);
    expect(pkb.tokenRequests()).toBe(before + 1);
    expect(pkb.records(ann.id).map((m) => m.type)).toEqual(["WEIGHT", "WEIGHT"]);
  });

  it("a refresh token rotated before a restart is the one used after it (the old one is dead)", async () => {
    const first = await link();
    await startRoute();
    pkb.expireAccessTokens(ann.id);
    await buffer.ingest([reading(1)]);
    route?.poke();
    await until(() => buffer.stats().byState.delivered === 1);
    const rotated = tokenStore(dataDir).get("p1")?.refreshToken;
    expect(rotated).toBeDefined();
    expect(rotated).not.toBe(first.refreshToken);
    // Restart: a new route (new token store, key read from disk, new OAuth client) after a stop.
    await route?.stop();
    await startRoute();
    pkb.expireAccessTokens(ann.id);
    await buffer.ingest([reading(2)]);
    route?.poke();
    await until(() => buffer.stats().byState.delivered === 2);
    expect(tokenStore(dataDir).state("p1")).toBe("linked");
    expect(tokenStore(dataDir).get("p1")?.refreshToken).not.toBe(rotated);
    expect(pkb.records(ann.id)).toHaveLength(2);
  });

  it("a send cut off by a crash is read back only reconcileAfterSec after the restart (it may still land at PKB): one copy", async () => {
    await link();
    const r = reading(1);
    await buffer.ingest([r]);
    buffer.outbox.claim("pkb-rest", 1); // the agent was killed while posting it
    // The restart, as Agent.start does it.
    expect(buffer.outbox.reclaimAll(reclaimWaitsMs(f.config))).toBe(1);
    const before = pkb.api.requests();
    await startRoute();
    route?.poke();
    await new Promise((done) => setTimeout(done, 300));
    expect(pkb.api.requests()).toBe(before);
    // Meanwhile the cut-off request reaches PKB.
    pkb.api.addToken("late", ann.id);
    const res = await fetch(`${pkb.url}/json/v1/measurements`, {
      method: "POST",
      headers: { authorization: "Bearer late", "content-type": "application/json" },
      body: pkbMeasurementJson(toPkbMeasurement(r)),
    });
    expect(res.status).toBe(201);
    clock.advance(f.route().reconcileAfterSec * 1000);
    route?.poke();
    await until(() => buffer.stats().byState.delivered === 1);
    expect(pkb.records(ann.id)).toHaveLength(1);
    // The late POST and the read-back, nothing more.
    expect(pkb.api.requests() - before).toBe(2);
  });

  it("503 with Retry-After waits without spending an attempt", async () => {
    await link();
    await startRoute();
    pkb.setFaults({ kind: "status", status: 503, retryAfter: "7" });
    await buffer.ingest([reading(1)]);
    route?.poke();
    await until(() => buffer.stats().byState.pending === 1 && pkb.api.requests() >= 1);
    await until(() => buffer.stats().byState.leased === 0);
    expect(buffer.db.prepare("SELECT attempts FROM outbox").pluck().get()).toBe(0);
    clock.advance(7_000);
    await until(() => buffer.stats().byState.delivered === 1);
  });

  it("token endpoint failing during a refresh (503, then a reset): nothing is lost, no attempt spent", async () => {
    await link();
    await startRoute();
    pkb.expireAccessTokens(ann.id);
    pkb.setFaults({ on: "token", kind: "status", status: 503 }, { on: "token", kind: "reset" });
    await buffer.ingest([reading(1)]);
    route?.poke();
    const row = () =>
      buffer.db.prepare("SELECT state, attempts, last_error FROM outbox").get() as {
        state: string;
        attempts: number;
        last_error: string | null;
      };
    await until(() => row().last_error === "refresh failed: SERVER_ERROR");
    expect(row()).toMatchObject({ state: "pending", attempts: 0 });
    clock.advance(30_000);
    route?.poke();
    await until(() => row().last_error === "refresh failed: NETWORK");
    expect(row().attempts).toBe(0);
    clock.advance(30_000);
    route?.poke();
    await until(() => buffer.stats().byState.delivered === 1);
    expect(tokenStore(dataDir).state("p1")).toBe("linked");
    expect(pkb.records(ann.id)).toHaveLength(1);
  });

  it("a revoked link raises an alert and buffers; relinking clears it and delivers everything", async () => {
    await link();
    await startRoute();
    await pkb.revoke(ann.id);
    await buffer.ingest([reading(1), reading(2)]);
    route?.poke();
    await until(() => buffer.alerts.list().some((a) => a.code === RELINK_ALERT));
    expect(tokenStore(dataDir).state("p1")).toBe("relink-needed");
    expect(buffer.db.prepare("SELECT max(attempts) FROM outbox").pluck().get()).toBe(0);
    expect(JSON.stringify(buffer.alerts.list())).not.toContain(ann.nhsNumber);
    await link();
    clock.advance(5 * 60_000);
    route?.poke();
    await until(() => buffer.stats().byState.delivered === 2);
    expect(buffer.alerts.list().some((a) => a.code === RELINK_ALERT)).toBe(false);
    expect(pkb.records(ann.id)).toHaveLength(2);
  });

  it("a re-link sends the readings that met the revocation at once, not after the one-minute recheck", async () => {
    await link();
    await startRoute();
    await pkb.revoke(ann.id);
    await buffer.ingest([reading(1), reading(2)]);
    route?.poke();
    await until(() => relinkAlert() !== undefined && buffer.stats().unsent === 2);
    await until(
      () => buffer.db.prepare("SELECT count(*) FROM outbox WHERE last_error IS NOT NULL").pluck().get() === 2,
    );
    await link();
    route?.poke();
    // No clock advance: the rows waiting for the re-link go as soon as the link is usable.
    await until(() => buffer.stats().byState.delivered === 2);
    expect(pkb.records(ann.id)).toHaveLength(2);
  });

  it("a patient not linked yet: nothing is claimed (no attempt, no churn); linking starts delivery at once", async () => {
    await startRoute();
    await buffer.ingest([reading(1), reading(2)]);
    route?.poke();
    await new Promise((r) => setTimeout(r, 150));
    expect(buffer.db.prepare("SELECT state, attempts, last_error FROM outbox").all()).toEqual([
      { state: "pending", attempts: 0, last_error: null },
      { state: "pending", attempts: 0, last_error: null },
    ]);
    expect(pkb.api.requests()).toBe(0);
    expect(buffer.alerts.list().find((a) => a.code === RELINK_ALERT)?.message).toContain("p1");
    await link();
    route?.poke();
    // No clock advance: the rows were never deferred.
    await until(() => buffer.stats().byState.delivered === 2);
    expect(buffer.alerts.list().some((a) => a.code === RELINK_ALERT)).toBe(false);
    expect(pkb.records(ann.id)).toHaveLength(2);
  });

  it("a client secret file others can read raises an alert; readings still flow", async () => {
    chmodSync(f.secretFile, 0o644);
    await link();
    await startRoute();
    expect(buffer.alerts.list().map((a) => a.code)).toContain(EXPOSED_ALERT);
    expect(JSON.stringify(buffer.alerts.list())).not.toContain("test-secret");
    await buffer.ingest([reading(1)]);
    route?.poke();
    await until(() => buffer.stats().byState.delivered === 1);
    await route?.stop();
    chmodSync(f.secretFile, 0o600);
    await startRoute();
    expect(buffer.alerts.list().map((a) => a.code)).not.toContain(EXPOSED_ALERT);
  });

  it("token and key files are 0600 and hold no plaintext token or NHS number", async () => {
    const linked = await link();
    const files = readdirSync(dataDir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name));
    const secretFiles = files.filter((f) => f.endsWith(".link") || f.endsWith("secret.key"));
    expect(secretFiles.length).toBe(2);
    for (const f of files) {
      expect(statSync(f).mode & 0o077).toBe(0);
      const raw = readFileSync(f).toString("latin1");
      expect(raw).not.toContain(linked.accessToken);
      expect(raw).not.toContain(linked.refreshToken ?? "-none-");
    }
    for (const f of secretFiles) expect(readFileSync(f, "utf8")).not.toContain(ann.nhsNumber);
  });
});

describe("token refresh", () => {
  it("an access token living shorter than refreshAheadSec is not refreshed for every reading: 20 readings, no refresh; then one per half-lifetime", async () => {
    pkb.setAccessTokenTtlSec(60); // refreshAheadSec is 120 (the default)
    await link();
    expect(f.route().refreshAheadSec).toBe(120);
    const linked = pkb.tokenRequests();
    await startRoute();
    await buffer.ingest(Array.from({ length: 20 }, (_, i) => reading(i + 1)));
    route?.poke();
    await until(() => buffer.stats().byState.delivered === 20);
    expect(pkb.tokenRequests() - linked).toBe(0);
    clock.advance(31_000); // past half the lifetime: refreshed once, then 20 more readings on the new token
    await buffer.ingest(Array.from({ length: 20 }, (_, i) => reading(i + 21)));
    route?.poke();
    await until(() => buffer.stats().byState.delivered === 40);
    expect(pkb.tokenRequests() - linked).toBe(1);
    expect(pkb.records(ann.id)).toHaveLength(40);
  });
});

describe("links bound to their patient", () => {
  const twoPatients = () => {
    f.config = {
      ...f.config,
      patients: [
        { key: "p1", route: "pkb-rest", nhsNumber: ann.nhsNumber },
        { key: "p2", route: "pkb-rest", nhsNumber: BOB.nhsNumber },
      ],
    };
  };
  const p1File = () => join(dataDir, "links", "p1.link");
  /** Starts the route with a reading of p1 waiting: the relink alert names p1's file and why. */
  const expectRelinkAlertForP1 = async (why: string) => {
    await startRoute();
    await buffer.ingest([reading(1)]);
    route?.poke();
    await until(() => relinkAlert() !== undefined);
    expect(relinkAlert()).toBe(
      `no usable PKB link: run pkb-hub link for patient(s): p1 (link file ${p1File()} cannot be used: ${why})`,
    );
  };

  it("a link file copied over another patient's does not open there: the relink alert names the file and why; nothing is sent", async () => {
    twoPatients();
    await link();
    await f.link(BOB.id, { patient: f.patient("p2") });
    copyFileSync(join(dataDir, "links", "p2.link"), p1File());
    await expectRelinkAlertForP1(
      "sealed data cannot be decrypted (sealed for another owner, with another key, or tampered)",
    );
    await new Promise((r) => setTimeout(r, 100));
    expect(pkb.records(BOB.id)).toEqual([]);
    expect(pkb.records(ann.id)).toEqual([]);
    expect(buffer.db.prepare("SELECT state, attempts FROM outbox").get()).toEqual({
      state: "pending",
      attempts: 0,
    });
    // Re-linking p1 replaces the foreign file; the reading goes into p1's own record.
    await link();
    clock.advance(5 * 60_000);
    route?.poke();
    await until(() => buffer.stats().byState.delivered === 1);
    expect(pkb.records(ann.id)).toHaveLength(1);
    expect(relinkAlert()).toBeUndefined();
  });

  it("a link is bound to its PKB account too (v3): a file naming another account is refused with the relink alert; a v2 file still opens and is written as v3", async () => {
    const linked = await link();
    const sealed = readFileSync(p1File(), "utf8");
    expect(sealed.startsWith(`link3.${accountTag(ann.id)}.`)).toBe(true);
    // The same sealed link presented as another account's (Bob's): the associated data differs, it does not open.
    writeFileSync(p1File(), sealed.replace(accountTag(ann.id), accountTag(BOB.id)), { mode: 0o600 });
    await expectRelinkAlertForP1(
      "sealed data cannot be decrypted (sealed for another owner, with another key, or tampered)",
    );
    expect(pkb.records(ann.id)).toEqual([]);
    expect(pkb.records(BOB.id)).toEqual([]);
    // Sealed (with the hub's key) as p1's link to Bob's account, yet holding Ann's: refused, coded.
    const box = SecretBox.open(dataDir);
    const bob = accountTag(BOB.id);
    const context = `pkb-hub link v3\npatient=p1\naccount=${bob}`;
    writeFileSync(p1File(), `link3.${bob}.${box.seal(JSON.stringify(linked), context)}`, { mode: 0o600 });
    const store = tokenStore(dataDir);
    expect(() => store.get("p1")).toThrow(
      expect.objectContaining({
        code: "SECRET_UNREADABLE",
        message: expect.stringContaining("another PKB account"),
      }),
    );
    // A link written before v3 (bound to the patient only) opens, and the next write seals it as v3.
    writeFileSync(p1File(), box.seal(JSON.stringify(linked), "pkb-hub link v2\npatient=p1"), { mode: 0o600 });
    expect(store.get("p1")).toMatchObject({ patient: "p1", pkbId: ann.id });
    store.put("p1", linked);
    expect(readFileSync(p1File(), "utf8").startsWith(`link3.${accountTag(ann.id)}.`)).toBe(true);
    expect(store.get("p1")).toMatchObject({ patient: "p1", pkbId: ann.id });
  });

  it("a link file sealed with another key (key file replaced) raises the relink alert with the file and why, not a generic error", async () => {
    await link();
    const linkRequests = pkb.api.requests();
    writeFileSync(join(dataDir, "secret.key"), Buffer.alloc(32, 9).toString("base64"), { mode: 0o600 });
    await expectRelinkAlertForP1(
      "sealed data cannot be decrypted (sealed for another owner, with another key, or tampered)",
    );
    await new Promise((r) => setTimeout(r, 100));
    expect(pkb.api.requests()).toBe(linkRequests);
  });

  it("a link file of an older pkb-hub (not bound) is used only when the NHS number verifies it, then sealed bound; a copy in another patient's place is refused", async () => {
    f.config = {
      ...f.config,
      patients: [
        { key: "p1", route: "pkb-rest", nhsNumber: ann.nhsNumber },
        { key: "p2", route: "pkb-rest" },
      ],
    };
    const { patient: _bound, ...linked } = await link();
    // As an older version wrote it: sealed without associated data, no patient inside; and a copy of it for p2.
    const legacy = SecretBox.open(dataDir).seal(JSON.stringify(linked));
    writeFileSync(p1File(), legacy, { mode: 0o600 });
    writeFileSync(join(dataDir, "links", "p2.link"), legacy, { mode: 0o600 });
    await startRoute();
    await buffer.ingest([reading(1), f.reading(2, "p2")]);
    route?.poke();
    await until(() => buffer.stats().byState.delivered === 1 && relinkAlert() !== undefined);
    expect(relinkAlert()).toBe(
      "no usable PKB link: run pkb-hub link for patient(s): p2 (the link file is in an older format, not bound to its patient, and no NHS number verifies it: link again)",
    );
    await new Promise((r) => setTimeout(r, 100));
    expect(pkb.records(ann.id)).toHaveLength(1);
    expect(readFileSync(p1File(), "utf8").startsWith(`link3.${accountTag(ann.id)}.v2.`)).toBe(true);
    expect(tokenStore(dataDir).get("p1")).toMatchObject({ patient: "p1", pkbId: ann.id });
    expect(readFileSync(join(dataDir, "links", "p2.link"), "utf8")).toBe(legacy);
  });

  it("the configured NHS number changed after linking: nothing is sent into the linked record; the relink alert says why", async () => {
    await link();
    f.config = { ...f.config, patients: [{ key: "p1", route: "pkb-rest", nhsNumber: BOB.nhsNumber }] };
    await startRoute();
    await buffer.ingest([reading(1)]);
    route?.poke();
    await until(() => relinkAlert() !== undefined);
    expect(relinkAlert()).toBe(
      "no usable PKB link: run pkb-hub link for patient(s): p1 (the NHS number in the configuration is not " +
        "the linked PKB account's (configuration changed after linking))",
    );
    await new Promise((r) => setTimeout(r, 100));
    expect(pkb.records(ann.id)).toEqual([]);
    expect(JSON.stringify(buffer.alerts.list())).not.toContain(BOB.nhsNumber);
    // The NHS number removed instead: still not sent (the link was verified against a number that is gone).
    await route?.stop();
    f.config = { ...f.config, patients: [{ key: "p1", route: "pkb-rest" }] };
    await startRoute();
    route?.poke();
    await until(() => relinkAlert()?.includes("no NHS number in the configuration") === true);
    expect(pkb.records(ann.id)).toEqual([]);
    expect(buffer.db.prepare("SELECT state, attempts FROM outbox").get()).toEqual({
      state: "pending",
      attempts: 0,
    });
  });
});
