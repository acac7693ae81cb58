import { statSync } from "node:fs";
import type { Config } from "../config/schema.js";
import { dataDirFindings, type FileFields, type FileFinding, referencedFileFindings } from "./files.js";
import { type Account, lookupAccount, serviceAccount } from "./users.js";

const asLine = (f: FileFinding): string => `${f.field}: ${f.file} ${f.problem}. Fix: ${f.fix}`;

/**
 * What does not stop the agent but a technician must see: demographics or secrets other users can
 * read, secret files that are missing or the service cannot read, a data directory it cannot
 * write, a REST patient whose PKB account cannot be checked against an NHS number. No PHI.
 */
export function configWarnings(file: string, config: Config, service?: Account): string[] {
  const warnings: string[] = [];
  const holdsPhi = config.patients.some((p) => p.nhsNumber || p.firstName || p.lastName || p.dob);
  const mode = (statSync(file, { throwIfNoEntry: false })?.mode ?? 0) & 0o777;
  if (holdsPhi && (mode & 0o077) !== 0) {
    warnings.push(
      `${file} holds patient demographics and is readable by other users (mode ${mode.toString(8)}): chmod 600 it`,
    );
  }
  if (config.hub.user !== undefined && !lookupAccount(config.hub.user))
    warnings.push(
      `hub.user: there is no account '${config.hub.user}' on this machine: create it (the install script does) or fix hub.user`,
    );
  const account = service ?? serviceAccount(config.hub);
  for (const f of [
    ...dataDirFindings(config.hub.dataDir, account),
    ...referencedFileFindings(config, account),
  ])
    warnings.push(asLine(f));
  config.patients.forEach((p, i) => {
    if (p.route === "pkb-rest" && p.nhsNumber === undefined)
      warnings.push(
        `patients[${i}] (${p.key}): no nhsNumber: linking cannot check that the approving PKB account is this patient's (only --accept-unverified links it); add the NHS number`,
      );
  });
  return warnings;
}

/** `raw[a][b]…` when it is a string; anything else (missing, a number, a list) is undefined. */
function text(raw: unknown, ...path: string[]): string | undefined {
  let at = raw;
  for (const key of path) {
    if (typeof at !== "object" || at === null || Array.isArray(at)) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return typeof at === "string" ? at : undefined;
}

/**
 * The file warnings of a configuration that failed validation, from whichever of its file fields
 * are strings: so that `config check` lists these with the problems, not only once those are fixed.
 */
export function invalidConfigFileWarnings(raw: unknown, service?: Account): string[] {
  const fields: FileFields = {
    routes: {
      pkbRest: { clientSecretFile: text(raw, "routes", "pkbRest", "clientSecretFile") },
      hl7: {
        passwordFile: text(raw, "routes", "hl7", "passwordFile"),
        caFile: text(raw, "routes", "hl7", "caFile"),
      },
    },
    monitor: {
      mqtt: {
        passwordFile: text(raw, "monitor", "mqtt", "passwordFile"),
        keyFile: text(raw, "monitor", "mqtt", "keyFile"),
        certFile: text(raw, "monitor", "mqtt", "certFile"),
        caFile: text(raw, "monitor", "mqtt", "caFile"),
      },
    },
  };
  const dataDir = text(raw, "hub", "dataDir");
  const user = text(raw, "hub", "user");
  const account =
    service ??
    serviceAccount({ dataDir: dataDir ?? "/var/lib/pkb-hub", ...(user === undefined ? {} : { user }) });
  return [
    ...(dataDir === undefined ? [] : dataDirFindings(dataDir, account)),
    ...referencedFileFindings(fields, account),
  ].map(asLine);
}
