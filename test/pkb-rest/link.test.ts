import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { HubBuffer } from "../../src/buffer/buffer.js";
import { parseConfig } from "../../src/config/load.js";
import type { Config } from "../../src/config/schema.js";
import { FakeClock } from "../../src/core/clock.js";
import { finishReading } from "../../src/core/finish.js";
import { silentLogger } from "../../src/core/log.js";
import { SecretBox } from "../../src/core/secrets.js";
import { PkbRestForwarder } from "../../src/forward/pkb-rest/forwarder.js";
import { linkPatient } from "../../src/forward/pkb-rest/link.js";
import { oauthConfig } from "../../src/forward/pkb-rest/oauth.js";
import { TokenStore } from "../../src/forward/pkb-rest/token-store.js";
import { OAuthTokenProvider } from "../../src/forward/pkb-rest/tokens.js";
import { type PkbApiStandin, startPkbApiStandin } from "../standin/pkb-api.js";
import { approveAs, approveDeviceAs } from "../standin/pkb-browser.js";
import { makeBuffer } from "../support/buffer.js";
import { ANN } from "../support/pkb-patients.js";
import { tempDir } from "../support/tmp.js";
import { until } from "../support/wait.js";

let tmp: ReturnType<typeof tempDir>;
let pkb: PkbApiStandin;
let config: Config;
let buffer: HubBuffer;
let clock: FakeClock;
const ann = ANN;
const bob = {
  id: "pkb-bob",
  firstName: "Bob",
  lastName: "Other",
  dob: "1960-02-02",
  gender: "M",
  nhsNumber: "9434765870",
};

beforeEach(async () => {
  tmp = tempDir();
  pkb = await startPkbApiStandin({ accessTokenTtlSec: 600 });
  pkb.addPatient(ann);
  pkb.addPatient(bob);
  writeFileSync(join(tmp.dir, "client-secret"), "test-secret\n", { mode: 0o600 });
  config = parseConfig({
    hub: { id: "h", dataDir: join(tmp.dir, "data") },
    patients: [{ key: "p1", route: "pkb-rest", nhsNumber: "9434765919" }],
    routes: {
      pkbRest: {
        baseUrl: pkb.url,
        clientId: "pkb-hub-test",
        clientSecretFile: join(tmp.dir, "client-secret"),
        redirectUri: "http://127.0.0.1:0/callback",
        revocationPath: "/apiRevoke.action",
        refreshAheadSec: 60,
      },
    },
  });
  ({ buffer, clock } = makeBuffer(join(tmp.dir, "data"), { clock: new FakeClock(Date.now()) }));
});
afterEach(async () => {
  buffer.close();
  await pkb.stop();
  tmp.cleanup();
});

const route = () => config.routes.pkbRest as NonNullable<Config["routes"]["pkbRest"]>;
const store = () => new TokenStore(join(tmp.dir, "data", "links"), SecretBox.open(join(tmp.dir, "data")));
const patientConfig = () => config.patients[0] as Config["patients"][number];

async function linkAs(
  pkbPatient: string,
  mode: "paste" | "loopback" = "paste",
  decision: "approve" | "deny" = "approve",
) {
  let shown: URL | undefined;
  return linkPatient({
    route: route(),
    patient: patientConfig(),
    store: store(),
    clock,
    mode,
    show: (url) => {
      shown = url;
      if (mode === "loopback") {
        // The patient's browser: approve, then follow the redirect to the hub's callback page.
        // A stray visit to the callback page first: ignored, the link keeps waiting.
        void fetch(new URL("/callback", route().redirectUri))
          .then(() => approveAs(url, pkbPatient, decision))
          .then((cb) => fetch(cb));
      }
    },
    ...(mode === "paste"
      ? { paste: async () => (await approveAs(shown as URL, pkbPatient, decision)).href }
      : {}),
    timeoutMs: 5000,
  });
}

describe("linking a patient", () => {
  it("paste mode: state and PKCE checked, PKB id and NHS number stored encrypted in a 0600 file", async () => {
    const link = await linkAs("pkb-ann");
    expect(link).toMatchObject({ state: "linked", pkbId: "pkb-ann", nhsNumber: "9434765919" });
    const dir = join(tmp.dir, "data", "links");
    const file = join(dir, readdirSync(dir)[0] as string);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const raw = readFileSync(file, "utf8");
    expect(raw).not.toContain(link.accessToken);
    expect(raw).not.toContain("9434765919");
    expect(store().get("p1")?.accessToken).toBe(link.accessToken);
  });

  it("loopback mode: the callback page on the hub receives the code", async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    config = {
      ...config,
      routes: { pkbRest: { ...route(), redirectUri: `http://127.0.0.1:${port}/callback` } },
    };
    expect((await linkAs("pkb-ann", "loopback")).state).toBe("linked");
  });

  it("device authorization grant, where the server advertises it: the patient enters the code elsewhere", async () => {
    config = {
      ...config,
      routes: { pkbRest: { ...route(), deviceAuthorizationPath: "/apiDeviceAuthorization.action" } },
    };
    const link = await linkPatient({
      route: route(),
      patient: patientConfig(),
      store: store(),
      clock,
      mode: "device",
      show: (url, userCode) => {
        void approveDeviceAs(url, userCode as string, "pkb-ann");
      },
      timeoutMs: 10_000,
    });
    expect(link).toMatchObject({ state: "linked", pkbId: "pkb-ann" });
  }, 15_000);

  it("device mode is refused clearly where the server does not advertise it", async () => {
    await expect(
      linkPatient({
        route: route(),
        patient: patientConfig(),
        store: store(),
        clock,
        mode: "device",
        show: () => {},
      }),
    ).rejects.toMatchObject({ code: "USAGE" });
  });

  it("denied consent is a clear LINK_DENIED", async () => {
    await expect(linkAs("pkb-ann", "paste", "deny")).rejects.toMatchObject({ code: "LINK_DENIED" });
  });

  it("loopback mode with the browser on another machine: the pasted redirect is taken instead", async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    config = {
      ...config,
      routes: { pkbRest: { ...route(), redirectUri: `http://127.0.0.1:${port}/callback` } },
    };
    let shown: URL | undefined;
    const link = await linkPatient({
      route: route(),
      patient: patientConfig(),
      store: store(),
      clock,
      mode: "loopback",
      show: (url) => {
        shown = url;
      },
      // The laptop's browser could not reach the hub's loopback page; the technician copies its address.
      paste: async () => (await approveAs(shown as URL, "pkb-ann")).href,
      timeoutMs: 5000,
    });
    expect(link.state).toBe("linked");
  });

  it("loopback mode: nobody approves in time → LINK_TIMEOUT, nothing stored", async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    config = {
      ...config,
      routes: { pkbRest: { ...route(), redirectUri: `http://127.0.0.1:${port}/callback` } },
    };
    await expect(
      linkPatient({
        route: route(),
        patient: patientConfig(),
        store: store(),
        clock,
        mode: "loopback",
        show: () => {},
        timeoutMs: 300,
      }),
    ).rejects.toMatchObject({ code: "LINK_TIMEOUT" });
    expect(store().get("p1")).toBeUndefined();
  });

  it("paste mode: nothing pasted in time → LINK_TIMEOUT, nothing stored", async () => {
    await expect(
      linkPatient({
        route: route(),
        patient: patientConfig(),
        store: store(),
        clock,
        mode: "paste",
        show: () => {},
        paste: () => new Promise<string>(() => {}),
        timeoutMs: 100,
      }),
    ).rejects.toMatchObject({ code: "LINK_TIMEOUT" });
    expect(store().get("p1")).toBeUndefined();
  });

  it("a redirect carrying another state (a forged or stale link) is refused", async () => {
    let shown: URL | undefined;
    await expect(
      linkPatient({
        route: route(),
        patient: patientConfig(),
        store: store(),
        clock,
        mode: "paste",
        show: (url) => {
          shown = url;
        },
        paste: async () => {
          const back = await approveAs(shown as URL, "pkb-ann");
          back.searchParams.set("state", "forged");
          return back.href;
        },
      }),
    ).rejects.toMatchObject({ code: "AUTH_FAILED" });
    expect(store().get("p1")).toBeUndefined();
  });

  it("mis-attribution guard: another person's account is refused and nothing is stored", async () => {
    await expect(linkAs("pkb-bob")).rejects.toMatchObject({ code: "MISATTRIBUTION" });
    expect(store().get("p1")).toBeUndefined();
    // The grant the wrong account gave is handed back to PKB (revocation endpoint configured).
    expect(await pkb.oauth.activeGrants("pkb-bob")).toBe(0);
  });
});

describe("re-linking", () => {
  it("to another PKB account is refused (buffered readings belong to the first), unless asked for", async () => {
    config = parseConfig({
      hub: { id: "h", dataDir: join(tmp.dir, "data") },
      patients: [{ key: "p1", route: "pkb-rest" }], // no NHS number configured: only the account guards
      routes: { pkbRest: route() },
    });
    const first = await linkAs("pkb-ann");
    await expect(linkAs("pkb-bob")).rejects.toMatchObject({ code: "MISATTRIBUTION" });
    expect(store().get("p1")).toEqual(first);
    expect(await pkb.oauth.activeGrants("pkb-bob")).toBe(0); // the refused grant was handed back
    let shown: URL | undefined;
    const moved = await linkPatient({
      route: route(),
      patient: patientConfig(),
      store: store(),
      clock,
      mode: "paste",
      show: (url) => {
        shown = url;
      },
      paste: async () => (await approveAs(shown as URL, "pkb-bob")).href,
      newAccount: true,
    });
    expect(moved.pkbId).toBe("pkb-bob");
    expect((await linkAs("pkb-bob")).pkbId).toBe("pkb-bob"); // the same account again: fine
  });
});

describe("tokens", () => {
  it("refreshes ahead of expiry; a rotated refresh token survives a restart", async () => {
    await linkAs("pkb-ann");
    const first = store().get("p1");
    clock.advance(10 * 60_000); // the access token is now inside the refresh-ahead window
    const provider = new OAuthTokenProvider(store(), oauthConfig(route()), clock, silentLogger(), 60);
    const t2 = await provider.accessToken("p1");
    expect(t2).not.toBe(first?.accessToken);
    expect(store().get("p1")?.refreshToken).not.toBe(first?.refreshToken); // rotated and persisted
    // "Restart": a new provider reading the store refreshes with the rotated token.
    clock.advance(10 * 60_000);
    const restarted = new OAuthTokenProvider(store(), oauthConfig(route()), clock, silentLogger(), 60);
    const [a, b] = await Promise.all([restarted.accessToken("p1"), restarted.accessToken("p1")]);
    expect(a).toBe(b); // one refresh at a time
    expect(pkb.oauth.tokenRequests).toBe(3); // code exchange + two refreshes
  });

  it("without rotation the same refresh token is kept and keeps working", async () => {
    pkb.oauth.rotate = false;
    await linkAs("pkb-ann");
    const rt = store().get("p1")?.refreshToken;
    const provider = new OAuthTokenProvider(store(), oauthConfig(route()), clock, silentLogger(), 60);
    for (let i = 0; i < 2; i++) {
      clock.advance(10 * 60_000);
      await provider.accessToken("p1");
      expect(store().get("p1")?.refreshToken).toBe(rt);
    }
  });

  it("a refresh refused while a technician re-links does not mark the new link relink-needed", async () => {
    await linkAs("pkb-ann");
    const old = store().get("p1");
    await pkb.oauth.revokePatient("pkb-ann");
    pkb.setLatencyMs(200);
    clock.advance(10 * 60_000);
    const provider = new OAuthTokenProvider(store(), oauthConfig(route()), clock, silentLogger(), 60);
    const pending = provider.accessToken("p1");
    // The re-link lands while the refused refresh is on the wire.
    const fresh = { ...(old as NonNullable<typeof old>), accessToken: "new-link-token", linkedAtMs: 42 };
    store().put("p1", fresh);
    await expect(pending).resolves.toBe("new-link-token");
    expect(store().get("p1")).toMatchObject({ state: "linked", accessToken: "new-link-token" });
  });

  it("revocation → relink-needed (readings keep buffering) → relink → delivery with nothing lost", async () => {
    await linkAs("pkb-ann");
    const provider = new OAuthTokenProvider(store(), oauthConfig(route()), clock, silentLogger(), 60);
    const forwarder = new PkbRestForwarder({
      buffer,
      clock,
      logger: silentLogger(),
      baseUrl: pkb.url,
      tokens: provider,
      fetch,
      concurrency: 1,
      requestTimeoutMs: 2000,
      idleMs: 10,
    });
    forwarder.start();
    const reading = (n: number) =>
      finishReading(
        { kind: "weight", components: [{ id: "body-weight", value: 70 + n, unit: "kg" }], seq: n },
        { deviceId: "d", driver: "t", patient: "p1", timeZone: "UTC", clock, receivedAtMs: clock.nowMs() },
      );
    try {
      await buffer.ingest([reading(1)]);
      await until(() => buffer.stats().byState.delivered === 1);
      // The grant is revoked (RFC 7009 at the stand-in's revocation endpoint).
      const secret = {
        client_id: "pkb-hub-test",
        client_secret: "test-secret",
        token: store().get("p1")?.refreshToken ?? "",
      };
      expect(
        (await fetch(`${pkb.url}/apiRevoke.action`, { method: "POST", body: new URLSearchParams(secret) }))
          .status,
      ).toBe(200);
      await buffer.ingest([reading(2), reading(3)]);
      await until(() => store().get("p1")?.state === "relink-needed");
      await until(() => buffer.stats().byState.pending === 2 && buffer.stats().byState.leased === 0);
      expect(
        buffer.db.prepare("SELECT max(attempts) FROM outbox WHERE state = 'pending'").pluck().get(),
      ).toBe(0);
      await linkAs("pkb-ann");
      clock.advance(5 * 60_000);
      await until(() => buffer.stats().byState.delivered === 3);
      expect(pkb.records("pkb-ann")).toHaveLength(3);
    } finally {
      await forwarder.stop();
    }
  });
});
