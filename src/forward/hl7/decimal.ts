import { HubError } from "../../core/errors.js";

/**
 * A number as HL7 NM text: plain decimal, never exponent notation (`1e-7` or `1e+21` are not NM,
 * and a receiver reading them as text would store a different number). Values are already rounded
 * (in finishReading, or after a unit conversion), so the shortest round-trip digits are the value.
 */
export function plainDecimal(value: number): string {
  if (!Number.isFinite(value) || Math.abs(value) >= 1e21)
    throw new HubError("READING_INVALID", "value cannot be written as an HL7 number");
  const text = String(value);
  if (!/e/i.test(text)) return text;
  // Only tiny magnitudes reach here (|v| < 1e-6): expand the digits of the shortest form.
  const m = /^(-?)(\d)(?:\.(\d+))?e-(\d+)$/.exec(text);
  if (!m) throw new HubError("READING_INVALID", "value cannot be written as an HL7 number");
  const [, sign, lead, frac = "", exp] = m;
  return `${sign}0.${"0".repeat(Number(exp) - 1)}${lead}${frac}`;
}
