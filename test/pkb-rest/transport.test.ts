import type { AddressInfo } from "node:net";
import { connect, createServer, type Server } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../src/config/load.js";
import { silentLogger } from "../../src/core/log.js";
import { PkbRestForwarder } from "../../src/forward/pkb-rest/forwarder.js";
import { createPkbRestRoute } from "../../src/forward/pkb-rest/route.js";
import { configCheckExample } from "../support/cli.js";
import { testContext } from "../support/context.js";
import { type RestFixture, startRestFixture } from "../support/pkb-rest.js";
import { loopbackPort } from "../support/ports.js";
import { tempDir } from "../support/tmp.js";

let f: RestFixture;
beforeEach(async () => {
  f = await startRestFixture();
});
afterEach(async () => {
  await f.close();
});

/** Problems `config check` reports for a REST route with these fields. */
function problemsOf(fields: Record<string, unknown>): Array<{ path: string; message: string }> {
  try {
    parseConfig({
      hub: { id: "h" },
      routes: {
        pkbRest: { baseUrl: "https://pkb.example", clientId: "c", clientSecretFile: "/s", ...fields },
      },
    });
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

/**
 * A listener that records every connection and byte, standing for a host beyond loopback: the
 * fetch given to the hub resolves `pkb.test` to it, as DNS would.
 */
async function rawListener(): Promise<{
  server: Server;
  port: number;
  bytes: () => string;
  connections: () => number;
}> {
  let data = "";
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    socket.on("data", (b: Buffer) => {
      data += b.toString("latin1");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    bytes: () => data,
    connections: () => connections,
  };
}

const resolvingTo =
  (port: number): typeof fetch =>
  (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    url.hostname = "127.0.0.1";
    url.port = String(port);
    return fetch(url, { ...init, signal: AbortSignal.timeout(500) });
  };

describe("transport security of the REST route", () => {
  it("config check refuses cleartext beyond loopback and foreign schemes for every REST endpoint, by path", () => {
    expect(problemsOf({ baseUrl: "http://sandbox.patientsknowbest.com" })).toEqual([
      {
        path: "routes.pkbRest.baseUrl",
        message:
          "uses cleartext http:// to sandbox.patientsknowbest.com: only https:// is allowed beyond loopback",
      },
    ]);
    expect(problemsOf({ issuer: "http://pkb.example" }).map((p) => p.path)).toEqual([
      "routes.pkbRest.issuer",
    ]);
    // An absolute URL in a path field would slip past the baseUrl rule.
    expect(problemsOf({ tokenPath: "http://evil.example/token" })).toEqual([
      {
        path: "routes.pkbRest.tokenPath",
        message: "uses cleartext http:// to evil.example: only https:// is allowed beyond loopback",
      },
    ]);
    expect(problemsOf({ revocationPath: "file:///etc/passwd" }).map((p) => p.path)).toEqual([
      "routes.pkbRest.revocationPath",
    ]);
    expect(problemsOf({ redirectUri: "http://0.0.0.0:8765/callback" }).map((p) => p.path)).toEqual([
      "routes.pkbRest.redirectUri",
    ]);
    expect(problemsOf({ redirectUri: "javascript:alert(1)" }).map((p) => p.path)).toEqual([
      "routes.pkbRest.redirectUri",
    ]);
    expect(problemsOf({ baseUrl: "javascript:alert(1)" }).map((p) => p.path)).toEqual([
      "routes.pkbRest.baseUrl",
    ]);
    // What a real deployment uses passes.
    expect(problemsOf({})).toEqual([]);
    expect(problemsOf({ redirectUri: "com.example.pkbhub:/callback" })).toEqual([]);
    expect(
      problemsOf({ redirectUri: "https://hub.example/callback", tokenPath: "https://auth.example/t" }),
    ).toEqual([]);
  });

  it("config check on a REST config whose baseUrl is http:// beyond loopback exits 2 with the coded message", () => {
    const tmp = tempDir();
    try {
      const r = configCheckExample(
        tmp.dir,
        "baseUrl: https://sandbox.patientsknowbest.com",
        "baseUrl: http://sandbox.patientsknowbest.com",
      );
      expect(r.stderr).toContain(
        "routes.pkbRest.baseUrl: uses cleartext http:// to sandbox.patientsknowbest.com: only https:// is allowed beyond loopback",
      );
      expect(r.status).toBe(2);
    } finally {
      tmp.cleanup();
    }
  });

  it("nothing is sent to a non-loopback http URL: route start, linking and the forwarder refuse before any connection", async () => {
    const raw = await rawListener();
    try {
      // A patient already linked and a reading waiting: a route that started would POST it at once.
      f.store().put("p1", {
        state: "linked",
        accessToken: "bearer-of-p1",
        refreshToken: "refresh-of-p1",
        expiresAtMs: f.clock.nowMs() + 3_600_000,
        pkbId: "pkb-ann",
        nhsNumber: "9434765919",
        linkedAtMs: f.clock.nowMs(),
      });
      await f.buffer.ingest([f.reading(1)]);
      // A config that never went through `config check` (built in code, or edited after it).
      f.setRoute({ baseUrl: `http://pkb.test:${raw.port}` });
      const fetchImpl = resolvingTo(raw.port);
      const route = createPkbRestRoute({
        ...testContext(f.buffer, f.clock, f.dataDir),
        config: f.config,
        fetch: fetchImpl,
      });
      await expect(route?.start()).rejects.toMatchObject({ code: "CONFIG_INVALID" });
      route?.poke();
      await expect(f.link("pkb-ann", { fetch: fetchImpl })).rejects.toMatchObject({ code: "CONFIG_INVALID" });
      expect(
        () =>
          new PkbRestForwarder({
            buffer: f.buffer,
            clock: f.clock,
            logger: silentLogger(),
            baseUrl: `http://pkb.test:${raw.port}`,
            tokens: { accessToken: async () => "bearer-of-p1", refresh: async () => "bearer-of-p1" },
            fetch: fetchImpl,
            concurrency: 1,
            requestTimeoutMs: 500,
          }),
      ).toThrow(expect.objectContaining({ code: "CONFIG_INVALID" }));
      await new Promise((r) => setTimeout(r, 200));
      await route?.stop();
      expect(raw.connections()).toBe(0);
      expect(raw.bytes()).toBe("");
      expect(f.buffer.stats().byState.pending).toBe(1);
    } finally {
      await new Promise<void>((r) => raw.server.close(() => r()));
    }
  });

  it("loopback mode listens only on a loopback IP literal: 0.0.0.0 or a host name is refused before listening", async () => {
    const port = loopbackPort();
    for (const redirectUri of [`http://0.0.0.0:${port}/callback`, `http://localhost:${port}/callback`]) {
      f.setRoute({ redirectUri });
      await expect(f.link("pkb-ann", { mode: "loopback" })).rejects.toMatchObject({ code: "CONFIG_INVALID" });
    }
    const refused = await new Promise<string>((resolve) => {
      const s = connect(port, "127.0.0.1");
      s.on("connect", () => {
        s.destroy();
        resolve("listening");
      });
      s.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? "error"));
    });
    expect(refused).toBe("ECONNREFUSED");
    expect(f.store().get("p1")).toBeUndefined();
  });
});
