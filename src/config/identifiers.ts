import { isValidNhsNumber } from "../core/nhs.js";

interface Named {
  key: string;
  nhsNumber?: string | undefined;
  dob?: string | undefined;
}

export interface IdentifierProblem {
  path: Array<string | number>;
  message: string;
}

const MESSAGE =
  "must not carry an NHS number or a patient's date of birth: it is published to fleet monitoring and written to logs";

/**
 * The PHI of the configured patients a published identifier must not contain, as digits. Names are
 * not matched (too many honest ids share letters with a name); the schema's descriptions say so.
 */
function phiTokens(patients: readonly Named[]): string[] {
  const tokens: string[] = [];
  for (const p of patients) {
    if (p.nhsNumber) tokens.push(p.nhsNumber.replace(/\D/g, ""));
    if (p.dob) tokens.push(p.dob.replace(/\D/g, ""));
  }
  return tokens.filter((t) => t.length >= 8);
}

/** An id that is an NHS number itself (any valid one), or holds a configured patient's NHS number or birth date. */
function leaks(id: string, tokens: readonly string[]): boolean {
  if (/^\d{3}[\s.-]?\d{3}[\s.-]?\d{4}$/.test(id) && isValidNhsNumber(id.replace(/\D/g, ""))) return true;
  const digits = id.replace(/\D/g, "");
  return tokens.some((t) => digits.includes(t));
}

/**
 * Hub id, device ids and patient keys travel where PHI must not (MQTT topics and health, logs at
 * info): each is checked against the patients' NHS numbers and dates of birth, and no
 * identifier may be an NHS number of its own.
 */
export function identifierProblems(cfg: {
  hub: { id: string };
  patients: readonly Named[];
  devices: ReadonlyArray<{ id: string }>;
}): IdentifierProblem[] {
  const tokens = phiTokens(cfg.patients);
  const problems: IdentifierProblem[] = [];
  if (leaks(cfg.hub.id, tokens)) problems.push({ path: ["hub", "id"], message: `hub id ${MESSAGE}` });
  cfg.patients.forEach((p, i) => {
    if (leaks(p.key, tokens))
      problems.push({ path: ["patients", i, "key"], message: `patient key ${MESSAGE}` });
  });
  cfg.devices.forEach((d, i) => {
    if (leaks(d.id, tokens)) problems.push({ path: ["devices", i, "id"], message: `device id ${MESSAGE}` });
  });
  return problems;
}
