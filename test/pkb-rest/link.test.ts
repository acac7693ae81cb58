import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogger, silentLogger } from "../../src/core/log.js";
import { PkbRestForwarder } from "../../src/forward/pkb-rest/forwarder.js";
import { linkPatient } from "../../src/forward/pkb-rest/link.js";
import { oauthConfig } from "../../src/forward/pkb-rest/oauth.js";
import { OAuthTokenProvider } from "../../src/forward/pkb-rest/tokens.js";
import { approveAs, approveDeviceAs } from "../standin/pkb-browser.js";
import { type RestFixture, startRestFixture } from "../support/pkb-rest.js";
import { loopbackPort } from "../support/ports.js";
import { until } from "../support/wait.js";

let f: RestFixture;

beforeEach(async () => {
  f = await startRestFixture({ route: { refreshAheadSec: 60 } });
});
afterEach(async () => {
  await f.close();
});

const route = () => f.route();
const store = () => f.store();
const patientConfig = () => f.patient();

/** Links p1 as `pkbPatient`; in loopback mode the patient's browser follows the redirect to the hub. */
async function linkAs(
  pkbPatient: string,
  mode: "paste" | "loopback" = "paste",
  decision: "approve" | "deny" = "approve",
  strays: string[] = [],
) {
  if (mode === "paste") return f.link(pkbPatient, { decision });
  return f.link(pkbPatient, {
    mode,
    show: (url) => {
      // Requests from other local processes first: each gets 400, the link keeps waiting.
      void (async () => {
        for (const stray of strays) {
          const answer = await fetch(new URL(stray, route().redirectUri));
          if (answer.status !== 400) throw new Error(`${stray} answered ${answer.status}`);
        }
        await fetch(await approveAs(url, pkbPatient, decision));
      })();
    },
  });
}

/** A loopback redirect URI on a free-looking port. */
function useLoopbackRedirect(): void {
  const port = loopbackPort();
  f.setRoute({ redirectUri: `http://127.0.0.1:${port}/callback` });
}

describe("linking a patient", () => {
  it("paste mode: state and PKCE checked, PKB id and NHS number stored encrypted in a 0600 file", async () => {
    const link = await linkAs("pkb-ann");
    expect(link).toMatchObject({ state: "linked", pkbId: "pkb-ann", nhsNumber: "9434765919" });
    const dir = join(f.dataDir, "links");
    const file = join(dir, readdirSync(dir)[0] as string);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const raw = readFileSync(file, "utf8");
    expect(raw).not.toContain(link.accessToken);
    expect(raw).not.toContain("9434765919");
    expect(store().get("p1")?.accessToken).toBe(link.accessToken);
  });

  it("loopback mode: the callback page on the hub receives the code", async () => {
    useLoopbackRedirect();
    expect((await linkAs("pkb-ann", "loopback", "approve", ["/callback"])).state).toBe("linked");
  });

  it("loopback mode: requests without the pending state (another local process) get 400 and the link keeps waiting", async () => {
    useLoopbackRedirect();
    const strays = [
      "/callback?error=access_denied",
      "/callback?error=access_denied&state=guessed",
      "/callback?code=stolen-or-forged",
      "/callback?code=stolen-or-forged&state=guessed",
    ];
    const link = await linkAs("pkb-ann", "loopback", "approve", strays);
    expect(link).toMatchObject({ state: "linked", pkbId: "pkb-ann" });
  });

  it("device authorization grant, where the server advertises it: the patient enters the code elsewhere", async () => {
    f.setRoute({ deviceAuthorizationPath: "/apiDeviceAuthorization.action" });
    const link = await f.link("pkb-ann", {
      mode: "device",
      show: (url, userCode) => {
        void approveDeviceAs(url, userCode as string, "pkb-ann");
      },
      timeoutMs: 10_000,
    });
    expect(link).toMatchObject({ state: "linked", pkbId: "pkb-ann" });
  }, 15_000);

  it("device mode is refused clearly where the server does not advertise it", async () => {
    await expect(f.link("pkb-ann", { mode: "device", show: () => {} })).rejects.toMatchObject({
      code: "USAGE",
    });
  });

  it("denied consent is a clear LINK_DENIED", async () => {
    await expect(linkAs("pkb-ann", "paste", "deny")).rejects.toMatchObject({ code: "LINK_DENIED" });
  });

  it("loopback mode with the browser on another machine: the pasted redirect is taken instead", async () => {
    useLoopbackRedirect();
    let shown: URL | undefined;
    const link = await f.link("pkb-ann", {
      mode: "loopback",
      show: (url) => {
        shown = url;
      },
      // The laptop's browser could not reach the hub's loopback page; the technician copies its address.
      paste: async () => (await approveAs(shown as URL, "pkb-ann")).href,
    });
    expect(link.state).toBe("linked");
  });

  it("loopback mode: nobody approves in time → LINK_TIMEOUT, nothing stored", async () => {
    useLoopbackRedirect();
    await expect(
      linkPatient({
        route: route(),
        patient: patientConfig(),
        store: store(),
        clock: f.clock,
        mode: "loopback",
        show: () => {},
        timeoutMs: 300,
      }),
    ).rejects.toMatchObject({ code: "LINK_TIMEOUT" });
    expect(store().get("p1")).toBeUndefined();
  });

  it("paste mode: nothing pasted in time → LINK_TIMEOUT, nothing stored", async () => {
    await expect(
      f.link("pkb-ann", { show: () => {}, paste: () => new Promise<string>(() => {}), timeoutMs: 100 }),
    ).rejects.toMatchObject({ code: "LINK_TIMEOUT" });
    expect(store().get("p1")).toBeUndefined();
  });

  it("a redirect carrying another state (a forged or stale link) is refused", async () => {
    let shown: URL | undefined;
    await expect(
      f.link("pkb-ann", {
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
    expect(await f.pkb.api.oauth.activeGrants("pkb-bob")).toBe(0);
  });
});

describe("attribution", () => {
  it("a REST patient without an NHS number is refused before the patient is asked, unless --accept-unverified (recorded in the link)", async () => {
    f.config = { ...f.config, patients: [{ key: "p1", route: "pkb-rest" }] };
    await expect(f.link("pkb-ann")).rejects.toMatchObject({ code: "USAGE" });
    expect(f.pkb.tokenRequests()).toBe(0);
    expect(store().get("p1")).toBeUndefined();
    const lines: string[] = [];
    const link = await f.link("pkb-ann", {
      acceptUnverified: true,
      logger: createLogger({ level: "info", destination: { write: (l: string) => lines.push(l) } }),
    });
    expect(store().get("p1")).toMatchObject({ pkbId: "pkb-ann", acceptedUnverified: true });
    expect(link.acceptedUnverified).toBe(true);
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
      expect.objectContaining({
        level: 40,
        patient: "p1",
        acceptedUnverified: true,
        msg: "PKB link made without NHS number verification (--accept-unverified)",
      }),
    ]);
    expect(lines.join("")).not.toContain("9434765919");
  });

  it("one PKB account is not linked to a second local patient (a shared monitor's other user slot) unless --shared-account", async () => {
    // A copy-paste slip: both user slots' patients carry Ann's NHS number.
    f.config = {
      ...f.config,
      patients: [
        { key: "p1", route: "pkb-rest", nhsNumber: "9434765919" },
        { key: "p2", route: "pkb-rest", nhsNumber: "9434765919" },
      ],
    };
    await f.link("pkb-ann");
    await expect(f.link("pkb-ann", { patient: f.patient("p2") })).rejects.toMatchObject({
      code: "MISATTRIBUTION",
      message: expect.stringContaining("already linked to patient(s) p1"),
    });
    expect(store().get("p2")).toBeUndefined();
    expect(await f.pkb.api.oauth.activeGrants("pkb-ann")).toBe(1); // the second grant was handed back
    const shared = await f.link("pkb-ann", { patient: f.patient("p2"), sharedAccount: true });
    expect(shared).toMatchObject({ pkbId: "pkb-ann", sharedAccount: true });
    expect(store().get("p1")?.sharedAccount).toBeUndefined();
  });
});

describe("re-linking", () => {
  it("to another PKB account is refused (buffered readings belong to the first), unless asked for", async () => {
    // No NHS number configured (linked unverified, on purpose): only the account guards.
    f.config = { ...f.config, patients: [{ key: "p1", route: "pkb-rest" }] };
    const first = await f.link("pkb-ann", { acceptUnverified: true });
    await expect(f.link("pkb-bob", { acceptUnverified: true })).rejects.toMatchObject({
      code: "MISATTRIBUTION",
    });
    expect(store().get("p1")).toEqual(first);
    expect(await f.pkb.api.oauth.activeGrants("pkb-bob")).toBe(0); // the refused grant was handed back
    const moved = await f.link("pkb-bob", { acceptUnverified: true, newAccount: true });
    expect(moved.pkbId).toBe("pkb-bob");
    // The same account again: fine.
    expect((await f.link("pkb-bob", { acceptUnverified: true })).pkbId).toBe("pkb-bob");
  });
});

const provider = () =>
  new OAuthTokenProvider({
    store: store(),
    config: oauthConfig(route()),
    clock: f.clock,
    logger: silentLogger(),
    refreshAheadSec: 60,
    patients: f.config.patients,
  });

describe("tokens", () => {
  it("refreshes ahead of expiry; a rotated refresh token survives a restart", async () => {
    await linkAs("pkb-ann");
    const first = store().get("p1");
    f.clock.advance(10 * 60_000); // the access token is now inside the refresh-ahead window
    const t2 = await provider().accessToken("p1");
    expect(t2).not.toBe(first?.accessToken);
    expect(store().get("p1")?.refreshToken).not.toBe(first?.refreshToken); // rotated and persisted
    // "Restart": a new provider reading the store refreshes with the rotated token.
    f.clock.advance(10 * 60_000);
    const restarted = provider();
    const [a, b] = await Promise.all([restarted.accessToken("p1"), restarted.accessToken("p1")]);
    expect(a).toBe(b); // one refresh at a time
    expect(f.pkb.tokenRequests()).toBe(3); // code exchange + two refreshes
  });

  it("a rotated refresh token the full disk would not take is kept in memory, used, and saved once there is room", async () => {
    await linkAs("pkb-ann");
    const s = store();
    const save = s.put.bind(s);
    let full = true;
    s.put = (patient, link) => {
      if (full) throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
      save(patient, link);
    };
    const tokens = new OAuthTokenProvider({
      store: s,
      config: oauthConfig(route()),
      clock: f.clock,
      logger: silentLogger(),
      refreshAheadSec: 60,
      patients: f.config.patients,
    });
    f.clock.advance(10 * 60_000);
    const t1 = await tokens.accessToken("p1"); // PKB rotated the refresh token; the disk refused it
    f.clock.advance(10 * 60_000);
    const t2 = await tokens.accessToken("p1"); // refreshed with the rotated one: the link lives
    expect(t2).not.toBe(t1);
    expect(tokens.usable("p1")).toBe(true);
    full = false;
    expect(await tokens.accessToken("p1")).toBe(t2); // saved on this use
    expect(store().get("p1")).toMatchObject({ state: "linked", accessToken: t2 });
  });

  it("without rotation the same refresh token is kept and keeps working", async () => {
    f.pkb.setRotation(false);
    await linkAs("pkb-ann");
    const rt = store().get("p1")?.refreshToken;
    const tokens = provider();
    for (let i = 0; i < 2; i++) {
      f.clock.advance(10 * 60_000);
      await tokens.accessToken("p1");
      expect(store().get("p1")?.refreshToken).toBe(rt);
    }
  });

  it("a refresh refused while a technician re-links does not mark the new link relink-needed", async () => {
    await linkAs("pkb-ann");
    const old = store().get("p1");
    await f.pkb.revoke("pkb-ann");
    f.pkb.setLatencyMs(200);
    f.clock.advance(10 * 60_000);
    const pending = provider().accessToken("p1");
    // The re-link lands while the refused refresh is on the wire.
    const fresh = { ...(old as NonNullable<typeof old>), accessToken: "new-link-token", linkedAtMs: 42 };
    store().put("p1", fresh);
    await expect(pending).resolves.toBe("new-link-token");
    expect(store().get("p1")).toMatchObject({ state: "linked", accessToken: "new-link-token" });
  });

  it("revocation → relink-needed (readings keep buffering) → relink → delivery with nothing lost", async () => {
    await linkAs("pkb-ann");
    const { buffer, clock } = f;
    const forwarder = new PkbRestForwarder({
      buffer,
      clock,
      logger: silentLogger(),
      baseUrl: f.pkb.url,
      tokens: provider(),
      fetch,
      concurrency: 1,
      requestTimeoutMs: 2000,
      idleMs: 10,
    });
    forwarder.start();
    try {
      await buffer.ingest([f.reading(1)]);
      await until(() => buffer.stats().byState.delivered === 1);
      // The grant is revoked (RFC 7009 at the stand-in's revocation endpoint).
      const secret = {
        client_id: "pkb-hub-test",
        client_secret: "test-secret",
        token: store().get("p1")?.refreshToken ?? "",
      };
      expect(
        (await fetch(`${f.pkb.url}/apiRevoke.action`, { method: "POST", body: new URLSearchParams(secret) }))
          .status,
      ).toBe(200);
      await buffer.ingest([f.reading(2), f.reading(3)]);
      await until(() => store().get("p1")?.state === "relink-needed");
      await until(() => buffer.stats().byState.pending === 2 && buffer.stats().byState.leased === 0);
      expect(
        buffer.db.prepare("SELECT max(attempts) FROM outbox WHERE state = 'pending'").pluck().get(),
      ).toBe(0);
      await linkAs("pkb-ann");
      clock.advance(5 * 60_000);
      await until(() => buffer.stats().byState.delivered === 3);
      expect(f.pkb.records("pkb-ann")).toHaveLength(3);
    } finally {
      await forwarder.stop();
    }
  });
});
