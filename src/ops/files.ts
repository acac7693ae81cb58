import { type Stats, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { type Account, permits } from "./users.js";

/** Something wrong with a file the hub needs, what it is, and what to type to fix it. */
export interface FileFinding {
  /** The config field naming the file (e.g. routes.hl7.passwordFile) or "hub.dataDir". */
  field: string;
  file: string;
  problem: string;
  fix: string;
}

/** A file the configuration points at; `secret` files must be 0600 (or 0400). */
export interface ReferencedFile {
  field: string;
  file: string;
  secret: boolean;
  what: string;
}

/**
 * The fields of a configuration that name files. A valid Config is one; so is what can be picked
 * out of a configuration that failed validation (config check still warns about its files).
 */
export interface FileFields {
  routes: {
    pkbRest?: { clientSecretFile?: string | undefined } | undefined;
    hl7?: { passwordFile?: string | undefined; caFile?: string | undefined } | undefined;
  };
  monitor: {
    mqtt?:
      | {
          passwordFile?: string | undefined;
          keyFile?: string | undefined;
          certFile?: string | undefined;
          caFile?: string | undefined;
        }
      | undefined;
  };
}

/** Every file the configuration names, with what it holds. */
export function referencedFiles(config: FileFields): ReferencedFile[] {
  const files: ReferencedFile[] = [];
  const add = (field: string, file: string | undefined, secret: boolean, what: string) => {
    if (file !== undefined) files.push({ field, file, secret, what });
  };
  const rest = config.routes.pkbRest;
  add("routes.pkbRest.clientSecretFile", rest?.clientSecretFile, true, "the PKB OAuth client secret");
  const hl7 = config.routes.hl7;
  add("routes.hl7.passwordFile", hl7?.passwordFile, true, "the PKB HL7 partner password");
  add("routes.hl7.caFile", hl7?.caFile, false, "the CA certificate for PKB's HL7 endpoint");
  const mqtt = config.monitor.mqtt;
  add("monitor.mqtt.passwordFile", mqtt?.passwordFile, true, "the MQTT broker password");
  add("monitor.mqtt.keyFile", mqtt?.keyFile, true, "the MQTT client private key");
  add("monitor.mqtt.certFile", mqtt?.certFile, false, "the MQTT client certificate");
  add("monitor.mqtt.caFile", mqtt?.caFile, false, "the CA certificate for the MQTT broker");
  return files;
}

type StatFn = (path: string) => Stats | undefined;
const statOrNone: StatFn = (path) => statSync(path, { throwIfNoEntry: false });

function octal(mode: number): string {
  return (mode & 0o777).toString(8).padStart(3, "0");
}

/**
 * Missing secret files, secrets other users can read, and files the service account cannot read
 * (e.g. written by root with mode 0600): each with the command that fixes it.
 */
export function referencedFileFindings(
  config: FileFields,
  service: Account,
  stat: StatFn = statOrNone,
): FileFinding[] {
  const findings: FileFinding[] = [];
  for (const ref of referencedFiles(config)) {
    let st: Stats | undefined;
    try {
      st = stat(ref.file);
    } catch (err) {
      findings.push({
        field: ref.field,
        file: ref.file,
        problem: `cannot be examined (${(err as NodeJS.ErrnoException).code ?? "error"})`,
        fix: `check the directories above ${ref.file} can be searched by ${service.name}`,
      });
      continue;
    }
    if (!st) {
      findings.push({
        field: ref.field,
        file: ref.file,
        problem: "does not exist",
        fix: `put ${ref.what} there: pkb-hub provision writes it, or install -m 600 -o ${service.name} /dev/stdin ${ref.file}`,
      });
      continue;
    }
    if (!st.isFile()) {
      findings.push({
        field: ref.field,
        file: ref.file,
        problem: "is not a regular file",
        fix: `point ${ref.field} at the file holding ${ref.what}`,
      });
      continue;
    }
    if (ref.secret && (st.mode & 0o077) !== 0) {
      findings.push({
        field: ref.field,
        file: ref.file,
        problem: `holds ${ref.what} and other users can read it (mode ${octal(st.mode)})`,
        fix: `chmod 600 ${ref.file} (and have the secret changed if others may have read it)`,
      });
    }
    if (!permits(service, st, "r")) {
      findings.push({
        field: ref.field,
        file: ref.file,
        problem: `cannot be read by the service account ${service.name} (owner uid ${st.uid}, mode ${octal(st.mode)})`,
        fix: `chown ${service.name} ${ref.file}`,
      });
    }
  }
  return findings;
}

/**
 * The data directory as the service account meets it: a directory it owns and can write, closed to
 * others (it holds the buffer, the links and the key). A missing directory is fine when the
 * account can create it.
 */
export function dataDirFindings(dataDir: string, service: Account, stat: StatFn = statOrNone): FileFinding[] {
  const dir = resolve(dataDir);
  const finding = (problem: string, fix: string): FileFinding[] => [
    { field: "hub.dataDir", file: dir, problem, fix },
  ];
  const install = `install -d -o ${service.name} -m 0700 ${dir}`;
  let st: Stats | undefined;
  try {
    st = stat(dir);
  } catch (err) {
    return finding(`cannot be examined (${(err as NodeJS.ErrnoException).code ?? "error"})`, install);
  }
  if (!st) {
    let parent = dirname(dir);
    let pst = stat(parent);
    while (!pst && dirname(parent) !== parent) {
      parent = dirname(parent);
      pst = stat(parent);
    }
    if (!pst?.isDirectory()) return finding(`cannot be created: ${parent} is not a directory`, install);
    if (!permits(service, pst, "w") || !permits(service, pst, "x"))
      return finding(`does not exist, and ${service.name} cannot create it in ${parent}`, install);
    return [];
  }
  if (!st.isDirectory()) return finding("is a file, not a directory", `move the file away, then ${install}`);
  if (!permits(service, st, "w") || !permits(service, st, "x"))
    return finding(
      `cannot be written by the service account ${service.name} (owner uid ${st.uid}, mode ${octal(st.mode)})`,
      `chown -R ${service.name}: ${dir} && chmod 700 ${dir}`,
    );
  if ((st.mode & 0o077) !== 0)
    return finding(
      `holds the buffer, the patients' links and the key, and other users can open it (mode ${octal(st.mode)})`,
      `chmod 700 ${dir}`,
    );
  return [];
}
