import { readFileSync, statSync } from "node:fs";
import type { AgentContext } from "../../agent/context.js";
import type { RouteComponent } from "../../agent/routes.js";
import { HubError, messageOf } from "../../core/errors.js";
import { readSecretFile } from "../../core/secrets.js";
import { Hl7Forwarder, type Hl7RouteConfig } from "./forwarder.js";
import { patientStateKey } from "./patients.js";
import { SoapClient } from "./soap.js";

export function soapClient(route: Hl7RouteConfig): SoapClient {
  let ca: string | undefined;
  if (route.caFile) {
    try {
      ca = readFileSync(route.caFile, "utf8");
    } catch (err) {
      throw new HubError("CONFIG_INVALID", `cannot read routes.hl7.caFile: ${messageOf(err)}`, {
        cause: err,
      });
    }
  }
  return new SoapClient({
    url: route.url,
    username: route.username,
    password: readSecretFile(route.passwordFile),
    ...(ca ? { ca } : {}),
    timeoutMs: route.requestTimeoutMs,
  });
}

/** Whether a secret file can be read by other users (it should be 0600 or 0400). */
export function exposedSecret(file: string): boolean {
  try {
    return (statSync(file).mode & 0o077) !== 0;
  } catch {
    return false; // reading it reports the problem
  }
}

const EXPOSED_ALERT = "HL7_SECRET_EXPOSED";

/** The hl7 route for the agent, when the configuration has it. */
export function createHl7Route(ctx: AgentContext): RouteComponent | undefined {
  const route = ctx.config.routes.hl7;
  if (!route || !ctx.config.patients.some((p) => p.route === "hl7")) return undefined;
  let forwarder: Hl7Forwarder | undefined;
  return {
    name: "route:hl7",
    route: "hl7",
    poke: () => forwarder?.poke(),
    linkStates() {
      const states = new Map<string, string>();
      for (const p of ctx.config.patients) {
        if (p.route !== "hl7") continue;
        const known = p.nhsNumber
          ? ctx.buffer.kvGet(patientStateKey(route.sendingFacility, p.nhsNumber))
          : undefined;
        states.set(
          p.key,
          known === "known" ? "hl7-known" : known === "a28-sent" ? "hl7-a28-sent" : "hl7-unknown",
        );
      }
      return states;
    },
    async start() {
      // Readings keep flowing (stopping the hub would not un-expose the password): a loud alert instead.
      if (exposedSecret(route.passwordFile)) {
        const text =
          "routes.hl7.passwordFile is readable by other users: chmod 600 it and change the partner password";
        ctx.logger.warn({ alert: EXPOSED_ALERT }, text);
        ctx.buffer.alerts.raise(EXPOSED_ALERT, text, ctx.clock.nowMs());
      } else ctx.buffer.alerts.clear(EXPOSED_ALERT);
      forwarder = new Hl7Forwarder({
        buffer: ctx.buffer,
        clock: ctx.clock,
        logger: ctx.logger.child({ component: "hl7" }),
        route,
        patients: ctx.config.patients,
        timeZone: ctx.config.hub.timeZone,
        hubId: ctx.config.hub.id,
        client: soapClient(route),
      });
      forwarder.start();
    },
    async stop() {
      await forwarder?.stop();
    },
  };
}
