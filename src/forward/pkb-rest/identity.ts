import type { PatientConfig } from "../../config/schema.js";
import type { PatientLink } from "./token-store.js";

/**
 * Why a stored link must not carry this configured patient's readings, or undefined when it may.
 * Checked when linking and again before every send: a configuration edited after linking (another
 * NHS number, the NHS number removed) must never send into the record linked before. Never names
 * the NHS numbers themselves (the reason goes into an alert).
 */
export function linkIdentityProblem(
  configured: PatientConfig | undefined,
  link: PatientLink,
): string | undefined {
  if (!configured) return "the patient is not in the configuration";
  const nhs = configured.nhsNumber;
  // An older link file may be another patient's copied into place: only the NHS number can tell.
  if (link.unbound && !(nhs && link.nhsNumber === nhs))
    return "the link file is in an older format, not bound to its patient, and no NHS number verifies it: link again";
  if (nhs) {
    if (link.nhsNumber === nhs) return undefined;
    return link.nhsNumber
      ? "the NHS number in the configuration is not the linked PKB account's (configuration changed after linking)"
      : "the linked PKB account has no NHS number to check against the configuration";
  }
  return link.acceptedUnverified
    ? undefined
    : "no NHS number in the configuration to check the linked PKB account against (add it, or link with --accept-unverified)";
}
