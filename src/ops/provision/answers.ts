import { dirname, join } from "node:path";
import { z } from "zod";

/**
 * What a technician answers when provisioning a hub, interactively or in an answers file
 * (`pkb-hub provision --answers FILE`). Everything is optional: what is not answered keeps the
 * existing configuration's value (re-running provision edits; it never drops a setting silently —
 * patients and devices go only when named in `removePatients` / `removeDevices`).
 */

/**
 * PKB's environments. The sandbox URLs are PKB's published ones; the production base URL is PKB's
 * public patient site, and its HL7 endpoint is given by PKB at onboarding (so it is always asked).
 */
export const PKB_ENVIRONMENTS: Record<"sandbox" | "production", { baseUrl: string; hl7Url?: string }> = {
  sandbox: {
    baseUrl: "https://sandbox.patientsknowbest.com",
    hl7Url: "https://sandbox.patientsknowbest.com:7443/services/hl7",
  },
  production: { baseUrl: "https://my.patientsknowbest.com" },
};

export type PkbEnvironment = keyof typeof PKB_ENVIRONMENTS | "custom";

const patientAnswer = z.strictObject({
  key: z.string(),
  firstName: z.string().optional(),
  lastName: z.string().optional(),
  dob: z.string().optional().describe("YYYY-MM-DD"),
  nhsNumber: z.string().optional(),
  sex: z.enum(["M", "F", "U"]).optional(),
  route: z.enum(["pkb-rest", "hl7"]).optional(),
});

const deviceAnswer = z.strictObject({
  id: z.string(),
  driver: z.string().optional(),
  patient: z.string().optional(),
  userSlots: z.record(z.string(), z.string()).optional(),
  bleAddress: z.string().optional(),
  serialPath: z.string().optional(),
  expectedIntervalHours: z.number().optional(),
});

export const answersSchema = z.strictObject({
  hub: z
    .strictObject({
      id: z.string().optional(),
      timeZone: z.string().optional(),
      dataDir: z.string().optional(),
      user: z.string().optional(),
    })
    .optional(),
  pkb: z
    .strictObject({
      environment: z.enum(["sandbox", "production", "custom"]).optional(),
      baseUrl: z.string().optional().describe("Only for environment: custom"),
      clientId: z.string().optional(),
      clientSecret: z.string().optional().describe("Written 0600 to the client secret file"),
    })
    .optional(),
  hl7: z
    .union([
      z.literal(false),
      z.strictObject({
        url: z.string().optional(),
        username: z.string().optional(),
        password: z.string().optional(),
        sendingFacility: z.string().optional(),
      }),
    ])
    .optional()
    .describe("false removes the HL7 route"),
  patients: z.array(patientAnswer).optional(),
  removePatients: z.array(z.string()).optional(),
  devices: z.array(deviceAnswer).optional(),
  removeDevices: z.array(z.string()).optional(),
  mqtt: z
    .union([
      z.literal(false),
      z.strictObject({
        url: z.string().optional(),
        username: z.string().optional(),
        password: z.string().optional(),
        caFile: z.string().optional(),
      }),
    ])
    .optional()
    .describe("false removes fleet monitoring"),
  secretsDir: z
    .string()
    .optional()
    .describe("Where new secret files go; default: the config file's directory"),
});

export type Answers = z.infer<typeof answersSchema>;
export type PatientAnswer = z.infer<typeof patientAnswer>;
export type DeviceAnswer = z.infer<typeof deviceAnswer>;

type Raw = Record<string, unknown>;

function obj(v: unknown): Raw {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? { ...(v as Raw) } : {};
}

function list(v: unknown): Raw[] {
  return Array.isArray(v) ? v.map(obj) : [];
}

/** Sets the defined fields of `from` on `to` (an unanswered field keeps its value). */
function assignDefined(to: Raw, from: Record<string, unknown>): Raw {
  for (const [k, v] of Object.entries(from)) if (v !== undefined) to[k] = v;
  return to;
}

/** A secret to write to a file (0600, the service account's). The value is never logged. */
export interface SecretWrite {
  field: string;
  file: string;
  value: string;
}

export interface Plan {
  /** The configuration to validate and write. */
  raw: Raw;
  secrets: SecretWrite[];
  /** What changed, for the summary (keys and ids only, no PHI). */
  changes: string[];
}

/** Which environment an existing base URL belongs to (for the default answer). */
export function environmentOf(baseUrl: unknown): PkbEnvironment | undefined {
  if (typeof baseUrl !== "string") return undefined;
  for (const [name, env] of Object.entries(PKB_ENVIRONMENTS))
    if (env.baseUrl === baseUrl) return name as PkbEnvironment;
  return "custom";
}

/**
 * The existing raw configuration with the answers applied. Every section, field and list entry
 * not answered is kept as it was (a device's simulate, options and user slots included).
 */
export function applyAnswers(existing: unknown, answers: Answers, configFile: string): Plan {
  const raw = obj(existing);
  const changes: string[] = [];
  const secrets: SecretWrite[] = [];
  const secretsDir = answers.secretsDir ?? dirname(configFile);

  if (answers.hub) raw.hub = assignDefined(obj(raw.hub), answers.hub);

  const routes = obj(raw.routes);
  if (answers.pkb) {
    const rest = obj(routes.pkbRest);
    const env = answers.pkb.environment;
    const baseUrl =
      env === "sandbox" || env === "production" ? PKB_ENVIRONMENTS[env].baseUrl : answers.pkb.baseUrl;
    assignDefined(rest, { baseUrl, clientId: answers.pkb.clientId });
    if (answers.pkb.clientSecret !== undefined) {
      const file =
        typeof rest.clientSecretFile === "string" ? rest.clientSecretFile : join(secretsDir, "client-secret");
      rest.clientSecretFile = file;
      secrets.push({ field: "routes.pkbRest.clientSecretFile", file, value: answers.pkb.clientSecret });
    }
    routes.pkbRest = rest;
  }
  if (answers.hl7 === false) {
    if (routes.hl7 !== undefined) changes.push("removed the HL7 route");
    delete routes.hl7;
  } else if (answers.hl7) {
    const hl7 = obj(routes.hl7);
    const { password, ...fields } = answers.hl7;
    assignDefined(hl7, fields);
    if (password !== undefined) {
      const file = typeof hl7.passwordFile === "string" ? hl7.passwordFile : join(secretsDir, "hl7-password");
      hl7.passwordFile = file;
      secrets.push({ field: "routes.hl7.passwordFile", file, value: password });
    }
    routes.hl7 = hl7;
  }
  if (Object.keys(routes).length > 0 || raw.routes !== undefined) raw.routes = routes;

  const removedPatients = new Set(answers.removePatients ?? []);
  let patients = list(raw.patients).filter((p) => {
    const drop = typeof p.key === "string" && removedPatients.has(p.key);
    if (drop) changes.push(`removed patient ${String(p.key)}`);
    return !drop;
  });
  for (const a of answers.patients ?? []) {
    const at = patients.findIndex((p) => p.key === a.key);
    if (at === -1) {
      patients = [...patients, assignDefined({}, a)];
      changes.push(`added patient ${a.key}`);
    } else {
      patients[at] = assignDefined(obj(patients[at]), a);
      changes.push(`updated patient ${a.key}`);
    }
  }
  if (patients.length > 0 || raw.patients !== undefined) raw.patients = patients;

  const removedDevices = new Set(answers.removeDevices ?? []);
  let devices = list(raw.devices).filter((d) => {
    const drop = typeof d.id === "string" && removedDevices.has(d.id);
    if (drop) changes.push(`removed device ${String(d.id)}`);
    return !drop;
  });
  for (const a of answers.devices ?? []) {
    const at = devices.findIndex((d) => d.id === a.id);
    const entry = at === -1 ? {} : obj(devices[at]);
    assignDefined(entry, a);
    // One binding at a time: a patient answer replaces user slots and the other way round;
    // a BLE address replaces a serial path and the other way round.
    if (a.patient !== undefined && a.userSlots === undefined) delete entry.userSlots;
    if (a.userSlots !== undefined && a.patient === undefined) delete entry.patient;
    if (a.bleAddress !== undefined) delete entry.serialPath;
    if (a.serialPath !== undefined) delete entry.bleAddress;
    if (at === -1) {
      devices = [...devices, entry];
      changes.push(`added device ${a.id}`);
    } else {
      devices[at] = entry;
      changes.push(`updated device ${a.id}`);
    }
  }
  if (devices.length > 0 || raw.devices !== undefined) raw.devices = devices;

  const monitor = obj(raw.monitor);
  if (answers.mqtt === false) {
    if (monitor.mqtt !== undefined) changes.push("removed fleet monitoring");
    delete monitor.mqtt;
    raw.monitor = monitor;
  } else if (answers.mqtt) {
    const mqtt = obj(monitor.mqtt);
    const { password, ...fields } = answers.mqtt;
    assignDefined(mqtt, fields);
    if (password !== undefined) {
      const file =
        typeof mqtt.passwordFile === "string" ? mqtt.passwordFile : join(secretsDir, "mqtt-password");
      mqtt.passwordFile = file;
      secrets.push({ field: "monitor.mqtt.passwordFile", file, value: password });
    }
    monitor.mqtt = mqtt;
    raw.monitor = monitor;
  }
  return { raw, secrets, changes };
}
