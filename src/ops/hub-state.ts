import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config/schema.js";
import { messageOf } from "../core/errors.js";
import { SecretBox } from "../core/secrets.js";
import { patientStateKey } from "../forward/hl7/patients.js";
import { TokenStore } from "../forward/pkb-rest/token-store.js";

/**
 * Link state per patient key as the agent's routes report it: `linked`, `relink-needed`,
 * `unlinked` (REST; never creates the key), `hl7-known`, `hl7-a28-sent`, `hl7-unknown` (HL7).
 * `why` says, without PHI, what is wrong with a link that cannot be used.
 */
export function linkStates(
  config: Config,
  kvGet: (k: string) => string | undefined = () => undefined,
): Map<string, { state: string; why?: string }> {
  const out = new Map<string, { state: string; why?: string }>();
  const dataDir = config.hub.dataDir;
  let store: TokenStore | undefined;
  const keyFile = join(dataDir, "secret.key");
  for (const p of config.patients) {
    if (p.route === "hl7") {
      const facility = config.routes.hl7?.sendingFacility;
      const known = facility && p.nhsNumber ? kvGet(patientStateKey(facility, p.nhsNumber)) : undefined;
      out.set(p.key, {
        state: known === "known" ? "hl7-known" : known === "a28-sent" ? "hl7-a28-sent" : "hl7-unknown",
      });
      continue;
    }
    if (!existsSync(join(dataDir, "links", `${p.key}.link`))) {
      out.set(p.key, { state: "unlinked" });
      continue;
    }
    if (!existsSync(keyFile) && !process.env.CREDENTIALS_DIRECTORY) {
      out.set(p.key, { state: "relink-needed", why: `the key ${keyFile} is missing` });
      continue;
    }
    try {
      store ??= new TokenStore(join(dataDir, "links"), SecretBox.open(dataDir));
      const link = store.get(p.key);
      out.set(p.key, { state: link?.state ?? "unlinked" });
    } catch (err) {
      out.set(p.key, { state: "relink-needed", why: messageOf(err) });
    }
  }
  return out;
}

/** The pid of the agent running on this data directory, if one is. */
export function runningAgentPid(dataDir: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(join(dataDir, "agent.lock"), "utf8").split(/\s/)[0]);
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    // EPERM: alive, but someone else's (the service account's, seen by a technician).
    return (err as NodeJS.ErrnoException).code === "EPERM" ? pid : undefined;
  }
}
