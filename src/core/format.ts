import { CODES, type ComponentId } from "./codes.js";
import { HubError } from "./errors.js";
import { roundTo, type Ucum, unitDecimals } from "./units.js";

/**
 * A value as the decimal text a route sends (HL7 OBX-5, a report): rounded to the component's
 * resolution (or, when a route sends another unit, to that unit's), trailing zeros dropped, and
 * never in exponent notation, however tiny or huge the number (String(1e21) is "1e+21", which a
 * receiver reads as 1 or refuses). Values are rounded once in finishReading; routes format them
 * with this and never compute.
 */
export function formatValue(value: number, componentId: ComponentId, unit?: Ucum): string {
  if (!Number.isFinite(value))
    throw new HubError("READING_INVALID", `component ${componentId} is not a finite number`);
  const row = CODES[componentId];
  // Stryker disable next-line ConditionalExpression: every canonical unit's decimals equal its components' today; kept so they may differ
  const decimals = unit === undefined || unit === row.unit ? row.decimals : unitDecimals(unit);
  return plainDecimal(roundTo(value, decimals), decimals);
}

/**
 * Positional decimal text of a finite double already rounded to `decimals` places (roundTo, which
 * never returns -0), without trailing zeros and without exponent.
 */
function plainDecimal(value: number, decimals: number): string {
  // toFixed switches to exponent notation at 1e21; every double that large is an integer, which
  // BigInt writes out digit by digit.
  if (Math.abs(value) >= 1e21) return BigInt(value).toString();
  const fixed = value.toFixed(decimals);
  return decimals > 0 ? fixed.replace(/\.?0+$/, "") : fixed;
}
