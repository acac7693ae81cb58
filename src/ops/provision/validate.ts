import { accessSync, constants, existsSync } from "node:fs";
import { dirname } from "node:path";
import type { z } from "zod";
import { DRIVER_IDS } from "../../../drivers/index.js";
import { brokerUrlProblem } from "../../config/routes.js";
import { deviceSchema, patientSchema } from "../../config/schema.js";
import { endpointProblem } from "../../config/url.js";
import { isValidNhsNumber } from "../../core/nhs.js";
import { isValidTimeZone } from "../../core/time.js";

/**
 * One check per prompt, each the same rule the configuration schema applies (so an answer accepted
 * here is never refused by `config check`), returning why an answer is refused, in words.
 */
function bySchema(schema: z.ZodType): (v: string) => string | undefined {
  return (v) => {
    const r = schema.safeParse(v);
    return r.success ? undefined : (r.error.issues[0]?.message ?? "is not valid");
  };
}

export const checkKey = bySchema(patientSchema.shape.key);
export const checkDeviceId = bySchema(deviceSchema.shape.id);
export const checkName = bySchema(patientSchema.shape.firstName.unwrap());
export const checkDob = bySchema(patientSchema.shape.dob.unwrap());
export const checkBleAddress = bySchema(deviceSchema.shape.bleAddress.unwrap());

export function checkHubId(v: string): string | undefined {
  return /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(v)
    ? undefined
    : "hub id must be 1-64 letters, digits, '_', '.' or '-'";
}

export function checkTimeZone(v: string): string | undefined {
  return isValidTimeZone(v) ? undefined : "unknown IANA time zone (e.g. Europe/London)";
}

/** Modulus 11, and which part is wrong: the length or the check digit. */
export function checkNhsNumber(v: string): string | undefined {
  const digits = v.replace(/[\s-]/g, "");
  if (!/^\d{10}$/.test(digits)) return "an NHS number has 10 digits (spaces allowed: 943 476 5919)";
  return isValidNhsNumber(digits)
    ? undefined
    : "not a valid NHS number: the check digit (Modulus 11) does not match — check for a typing error";
}

export function checkHttpsUrl(v: string): string | undefined {
  const problem = endpointProblem(v);
  return problem ? `the address ${problem}` : undefined;
}

export function checkBrokerUrl(v: string): string | undefined {
  const problem = brokerUrlProblem(v);
  return problem ? `the broker URL ${problem}` : undefined;
}

export function checkDriver(v: string): string | undefined {
  return DRIVER_IDS.includes(v) ? undefined : `unknown driver; known: ${DRIVER_IDS.join(", ")}`;
}

export function checkSex(v: string): string | undefined {
  return ["M", "F", "U"].includes(v) ? undefined : "M, F or U (sex at birth, HL7 table 0001)";
}

export function checkSerialPath(v: string): string | undefined {
  if (!v.startsWith("/dev/")) return "a device path under /dev, e.g. /dev/serial/by-id/usb-…";
  return undefined;
}

/** "1=p1,2=p2" → { "1": "p1", "2": "p2" }, or why not. */
export function parseUserSlots(v: string, patients: readonly string[]): Record<string, string> | string {
  const slots: Record<string, string> = {};
  for (const part of v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^(\d+)\s*=\s*(\S+)$/.exec(part);
    if (!m?.[1] || !m[2]) return `"${part}" is not SLOT=PATIENT (e.g. 1=patient-a,2=patient-b)`;
    if (!patients.includes(m[2])) return `no patient '${m[2]}' (patients: ${patients.join(", ") || "none"})`;
    slots[m[1]] = m[2];
  }
  return Object.keys(slots).length > 0 ? slots : "give at least one SLOT=PATIENT";
}

/** Whether this process could create or replace `file` (its directory exists and is writable). */
export function writableProblem(file: string): string | undefined {
  let dir = dirname(file);
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
    return undefined;
  } catch {
    return `${dir} is not writable`;
  }
}
