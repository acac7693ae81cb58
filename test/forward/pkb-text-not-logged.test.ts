import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/agent/agent.js";
import type { Config } from "../../src/config/schema.js";
import { HubError, reasonOf } from "../../src/core/errors.js";
import { oauthConfig, refreshTokens } from "../../src/forward/pkb-rest/oauth.js";
import { useHl7Harness } from "../hl7/harness.js";
import { captureLogs } from "../support/logs.js";
import { ANN } from "../support/pkb-patients.js";
import { type RestFixture, startRestFixture } from "../support/pkb-rest.js";
import { until } from "../support/wait.js";

/** What PKB might quote back: another person's name and NHS number (fake), never in a log line or on MQTT. */
const NAME = "Zelda Quux";
const NHS_QUOTED = "4010232137";
const said = (what: string) => `${what}: ${NAME} ${NHS_QUOTED} not accepted`;

/** Nothing PKB said appears in any line, at any level the logger wrote (info and above here). */
function expectNoPkbText(lines: string[]): void {
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) {
    expect(line).not.toContain(NAME);
    expect(line).not.toContain(NHS_QUOTED);
  }
}

/** What MQTT would carry (health and alerts) holds none of it either. */
function expectNothingForMqtt(agent: Agent): void {
  const published = JSON.stringify({ status: agent.status(), alerts: agent.ctx.buffer.activeAlerts() });
  expect(published).not.toContain(NAME);
  expect(published).not.toContain(NHS_QUOTED);
}

function reasons(agent: Agent, state: "dead" | "ambiguous" = "dead"): string[] {
  return agent.ctx.buffer.outbox.rowsInState(state).map((r) => r.reason);
}

function assumeSynced(config: Config): Config {
  return { ...config, clock: { ...config.clock, mode: "assume-synced" } };
}

describe("PKB's texts stay out of logs and MQTT: kept only as the outbox row's reason", () => {
  const t = useHl7Harness();

  it("HL7: AR/AE texts of an A19, an A28, an ORU and a 'patient not found' reach no info log line; the reasons keep them", async () => {
    const { h } = t;
    const log = captureLogs("info");
    // A slow first answer (TLS under load) must not time out: it would take the injected fault with it.
    const config = assumeSynced(h.config({ requestTimeoutMs: 10_000 }));
    const agent = new Agent({ config, logger: log.logger });
    await agent.start();
    const deadCount = () => agent.ctx.buffer.stats().byState.dead ?? 0;
    const send = async (dead: number) => {
      await agent.ctx.buffer.ingest([h.reading()]);
      agent.ctx.pokeRoutes();
      await until(() => deadCount() === dead, 20_000);
    };
    try {
      h.pkb.injectFaults({ kind: "ack", code: "AR", text: said("A19") });
      await send(1);
      h.pkb.injectFaults({ kind: "none" }, { kind: "ack", code: "AE", text: said("A28") });
      await send(2);
      h.knownToPkb();
      h.pkb.injectFaults({ kind: "none" }, { kind: "ack", code: "AE", text: said("ORU") });
      await send(3);
      // Cached as known now: PKB says it does not know the patient (quoting them), the hub asks again.
      h.pkb.injectFaults({ kind: "ack", code: "AR", text: `Patient not found: ${NAME} ${NHS_QUOTED}` });
      await agent.ctx.buffer.ingest([h.reading()]);
      agent.ctx.pokeRoutes();
      await until(() => (agent.ctx.buffer.stats().byState.delivered ?? 0) === 1, 20_000);
      expectNothingForMqtt(agent);
      // The texts are not lost: `outbox list --show-reasons` shows them to a person.
      const kept = reasons(agent).join("\n");
      for (const what of ["A19", "A28", "ORU"]) expect(kept).toContain(said(what));
    } finally {
      await agent.stop();
    }
    expect(h.types()).toContain("ADT^A28");
    expectNoPkbText(log.lines);
  }, 60_000);
});

describe("PKB's texts stay out of logs and MQTT on the REST route", () => {
  let f: RestFixture | undefined;
  afterEach(async () => {
    await f?.close();
    f = undefined;
  });

  it("REST: a 422 body and an OAuth token error's description reach no info log line; the 422 reason keeps its text", async () => {
    f = await startRestFixture();
    await f.link();
    const log = captureLogs("info");
    const agent = new Agent({
      config: assumeSynced({ ...f.config, hub: { ...f.config.hub, dataDir: f.dataDir } }),
      logger: log.logger,
    });
    await agent.start();
    try {
      f.pkb.setFaults({ kind: "status", status: 422, message: said("measurement") });
      await agent.ctx.buffer.ingest([f.reading(1)]);
      agent.ctx.pokeRoutes();
      await until(() => (agent.ctx.buffer.stats().byState.dead ?? 0) === 1, 20_000);
      // The access token is refused (401); the refresh gets an OAuth error whose description quotes a person.
      f.pkb.expireAccessTokens(ANN.id);
      f.pkb.setFaults({
        on: "token",
        kind: "status",
        status: 400,
        error: "invalid_client",
        message: said("token"),
      });
      await agent.ctx.buffer.ingest([f.reading(2)]);
      agent.ctx.pokeRoutes();
      await until(() => log.parsed().some((l) => l.msg.startsWith("no PKB access token")), 20_000);
      expectNothingForMqtt(agent);
      expect(reasons(agent).join("\n")).toContain(said("measurement"));
    } finally {
      await agent.stop();
    }
    expectNoPkbText(log.lines);
  }, 60_000);

  it("an OAuth error (code and description) is kept apart from the message: a log line at error carries neither, the reason both", async () => {
    f = await startRestFixture();
    const link = await f.link();
    // A server may put anything in `error`, not only a registered code.
    f.pkb.setFaults({ on: "token", kind: "status", status: 400, error: said("code"), message: said("why") });
    const err = await refreshTokens(oauthConfig(f.route()), link.refreshToken ?? "").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HubError);
    expect((err as HubError).code).toBe("AUTH_FAILED");
    const log = captureLogs("info");
    log.logger.error({ err }, "token refresh failed");
    expectNoPkbText(log.lines);
    expect(log.parsed()[0]?.err).toMatchObject({ code: "AUTH_FAILED" });
    expect(reasonOf(err)).toContain(said("code"));
    expect(reasonOf(err)).toContain(said("why"));
    // A parser's own error may quote what PKB sent (V8's JSON.parse does): logged by type only.
    const parsed = (() => {
      try {
        return JSON.parse(`${NAME} ${NHS_QUOTED}`);
      } catch (e) {
        return e;
      }
    })();
    log.logger.warn({ err: parsed }, "answer not JSON");
    expectNoPkbText(log.lines);
  });
});
