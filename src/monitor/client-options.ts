import { readFileSync } from "node:fs";
import type { IClientOptions } from "mqtt";
import type { Config } from "../config/schema.js";
import { HubError, messageOf } from "../core/errors.js";
import { isSecretFileExposed, readSecretFile } from "../core/secrets.js";
import { SCHEMA_VERSION, type StatePayload } from "./schemas.js";
import type { Topics } from "./topics.js";

export type MqttSettings = NonNullable<Config["monitor"]["mqtt"]>;

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new HubError("CONFIG_INVALID", `cannot read monitor.mqtt.${what}: ${messageOf(err)}`, {
      cause: err,
    });
  }
}

/** The broker password and client key files other users can read (they should be 0600). */
export function exposedSecretFiles(settings: MqttSettings): string[] {
  return [settings.passwordFile, settings.keyFile].filter(
    (f): f is string => f !== undefined && isSecretFileExposed(f),
  );
}

export function lastWill(hubId: string): StatePayload {
  return { schemaVersion: SCHEMA_VERSION, hub: hubId, state: "offline", reason: "connection-lost" };
}

/**
 * Connection options from the settings, files read now (so a fixed file is picked up on the next
 * attempt). TLS always verifies the broker: there is no switch to turn that off. Reconnection is
 * the monitor's own (with backoff), so mqtt.js's fixed-period reconnect is off.
 */
export function clientOptions(settings: MqttSettings, hubId: string, topics: Topics): IClientOptions {
  const options: IClientOptions = {
    clientId: settings.clientId ?? `pkb-hub-${hubId}`,
    protocolVersion: settings.protocolVersion,
    clean: true,
    keepalive: settings.keepaliveSec,
    connectTimeout: 10_000,
    reconnectPeriod: 0,
    rejectUnauthorized: true,
    // Only the monitor's own bounded queue holds anything while disconnected.
    queueQoSZero: false,
    will: {
      topic: topics.state,
      payload: Buffer.from(JSON.stringify(lastWill(hubId))),
      qos: 1,
      retain: true,
    },
  };
  if (settings.username !== undefined) options.username = settings.username;
  if (settings.passwordFile !== undefined) options.password = readSecretFile(settings.passwordFile);
  if (settings.caFile !== undefined) options.ca = readPem(settings.caFile, "caFile");
  if (settings.certFile !== undefined) options.cert = readPem(settings.certFile, "certFile");
  if (settings.keyFile !== undefined) options.key = readPem(settings.keyFile, "keyFile");
  return options;
}
