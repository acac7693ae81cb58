import { DRIVER_IDS, driverById } from "../../drivers/index.js";
import { isValidNhsNumber } from "../core/nhs.js";
import { driverOptionsProblems, hasSimulator, simulatedDriverIds } from "./driver-options.js";

/** One problem, where it is (zod-style path) and what is wrong, in words. */
export interface CrossFieldIssue {
  path: Array<string | number>;
  message: string;
}

type Raw = Record<string, unknown>;

function obj(v: unknown): Raw | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Raw) : undefined;
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function text(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/**
 * The checks that relate one part of the configuration to another (patients ↔ routes, devices ↔
 * patients and drivers). They read the input defensively, so they run — and report — even when
 * fields elsewhere are wrong: a technician sees every problem in one `config check`, not the next
 * batch only after fixing the first. The schema runs them too, on a valid input.
 */
export function crossFieldIssues(raw: unknown): CrossFieldIssue[] {
  const issues: CrossFieldIssue[] = [];
  const root = obj(raw) ?? {};
  const routes = obj(root.routes) ?? {};
  const patientKeys = new Set<string>();
  const nhsOwners = new Map<string, number>();
  list(root.patients).forEach((item, i) => {
    const p = obj(item);
    if (!p) return;
    const key = text(p.key);
    if (key !== undefined) {
      if (patientKeys.has(key))
        issues.push({ path: ["patients", i, "key"], message: "duplicate patient key" });
      patientKeys.add(key);
    }
    const nhs = text(p.nhsNumber)?.replace(/[\s-]/g, "");
    if (nhs !== undefined && isValidNhsNumber(nhs)) {
      const first = nhsOwners.get(nhs);
      if (first !== undefined) {
        // Two entries for one person: readings would be filed under either, and HL7 would create twice.
        issues.push({
          path: ["patients", i, "nhsNumber"],
          message: `same NHS number as patients[${first}]: one person must have one patient entry`,
        });
      } else nhsOwners.set(nhs, i);
    }
    if (p.route === "hl7") {
      for (const field of ["nhsNumber", "firstName", "lastName", "dob", "sex"]) {
        if (p[field] === undefined)
          issues.push({ path: ["patients", i, field], message: "required for the hl7 route" });
      }
      if (!obj(routes.hl7))
        issues.push({ path: ["patients", i, "route"], message: "routes.hl7 is not configured" });
    }
    if (p.route === "pkb-rest" && !obj(routes.pkbRest))
      issues.push({ path: ["patients", i, "route"], message: "routes.pkbRest is not configured" });
  });

  const deviceIds = new Set<string>();
  list(root.devices).forEach((item, i) => {
    const d = obj(item);
    if (!d) return;
    const id = text(d.id);
    if (id !== undefined) {
      if (deviceIds.has(id)) issues.push({ path: ["devices", i, "id"], message: "duplicate device id" });
      deviceIds.add(id);
    }
    const slots = obj(d.userSlots) ?? {};
    const patient = text(d.patient);
    if (patient === undefined && Object.keys(slots).length === 0)
      issues.push({ path: ["devices", i], message: "device is bound to no patient (patient or userSlots)" });
    if (patient !== undefined && !patientKeys.has(patient))
      issues.push({ path: ["devices", i, "patient"], message: `unknown patient '${patient}'` });
    for (const [slot, key] of Object.entries(slots)) {
      if (typeof key === "string" && !patientKeys.has(key))
        issues.push({ path: ["devices", i, "userSlots", slot], message: `unknown patient '${key}'` });
    }
    issues.push(...deviceDriverIssues(d, i));
  });
  return issues;
}

/** Whether the device's transport fields, simulation and options fit its driver. */
function deviceDriverIssues(d: Raw, i: number): CrossFieldIssue[] {
  const driverId = text(d.driver);
  if (driverId === undefined) return [];
  if (!DRIVER_IDS.includes(driverId))
    return [{ path: ["devices", i, "driver"], message: `unknown driver; known: ${DRIVER_IDS.join(", ")}` }];
  const driver = driverById(driverId);
  const issues: CrossFieldIssue[] = [];
  const transport = driver.matcher.transport;
  if (transport === "serial" && d.bleAddress !== undefined)
    issues.push({
      path: ["devices", i, "bleAddress"],
      message: `${driverId} is a serial (USB) driver: a BLE address does not fit it (use serialPath)`,
    });
  if (transport === "ble" && d.serialPath !== undefined)
    issues.push({
      path: ["devices", i, "serialPath"],
      message: `${driverId} is a Bluetooth driver: a serial path does not fit it (use bleAddress)`,
    });
  const simulate = d.simulate === true;
  if (simulate && !hasSimulator(driverId))
    issues.push({
      path: ["devices", i, "simulate"],
      message: `there is no simulator for ${driverId} (simulate: true works with ${simulatedDriverIds().join(", ")})`,
    });
  const options = obj(d.options);
  if (options) {
    for (const p of driverOptionsProblems(driver, simulate, options))
      issues.push({ path: ["devices", i, "options", p.key], message: p.message });
  }
  return issues;
}
