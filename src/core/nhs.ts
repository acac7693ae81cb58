import { HubError } from "./errors.js";

/**
 * NHS number: 10 digits, the last a Modulus 11 check digit over the first nine with weights
 * 10..2. A remainder giving check digit 10 means the number is invalid.
 */
export function isValidNhsNumber(input: string): boolean {
  if (!/^\d{10}$/.test(input)) return false;
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += Number(input[i]) * (10 - i);
  const check = 11 - (sum % 11);
  const expected = check === 11 ? 0 : check;
  return expected !== 10 && expected === Number(input[9]);
}

/** Accepts the usual `943 476 5919` spacing; returns the bare digits or throws NHS_NUMBER_INVALID. */
export function normaliseNhsNumber(input: string): string {
  const digits = input.replace(/[\s-]/g, "");
  if (!isValidNhsNumber(digits)) {
    throw new HubError(
      "NHS_NUMBER_INVALID",
      "NHS number is not 10 digits with a valid Modulus 11 check digit",
    );
  }
  return digits;
}
