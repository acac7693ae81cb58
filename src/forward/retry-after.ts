/**
 * The one Retry-After parser for both routes (RFC 9110 §10.2.3: delay-seconds or an HTTP-date).
 *
 * Capped, because the value decides when readings move again: a server (or a proxy in front of
 * it) that says "31 years" or sends a 400-digit number must not park readings for ever, and an
 * unbounded number becomes `Infinity`, which the outbox cannot store. Past the cap the hub asks
 * again; a server still busy answers with another Retry-After, which spends no attempt.
 */

/** The longest wait a server can impose: the outbox's default maximum backoff (1 hour). */
export const RETRY_AFTER_MAX_MS = 3_600_000;

const DAY = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)";
const LONG_DAY = "(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)";
const MONTH = "(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)";
const TIME = "\\d{2}:\\d{2}:\\d{2}";
/** IMF-fixdate, and the two obsolete forms a recipient must accept (RFC 850, asctime). */
const HTTP_DATE = new RegExp(
  `^(?:${DAY}, \\d{2} ${MONTH} \\d{4} ${TIME} GMT|${LONG_DAY}, \\d{2}-${MONTH}-\\d{2} ${TIME} GMT|${DAY} ${MONTH} [ \\d]\\d ${TIME} \\d{4})$`,
);

/**
 * A Retry-After header → milliseconds to wait from `nowMs`, an integer in [0, maxMs]; undefined
 * when absent or not a Retry-After value (then the route's own backoff applies). A date in the
 * past means "now" (0). Only the exact grammar is read: `1.5`, `-1`, `soon` or a bare year are
 * not Retry-After values (a lenient date parser reads "5" as the year 2001).
 */
export function parseRetryAfter(
  header: string | readonly string[] | null | undefined,
  nowMs: number,
  maxMs = RETRY_AFTER_MAX_MS,
): number | undefined {
  // Several Retry-After headers contradict each other: none of them is trusted.
  const value = typeof header === "string" ? header : header?.length === 1 ? header[0] : undefined;
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) {
    // Compare as text first: a number too long for a double is simply "longer than the cap".
    const digits = text.replace(/^0+(?=\d)/, "");
    if (digits.length > 12) return maxMs;
    return Math.min(Number(digits) * 1000, maxMs);
  }
  if (!HTTP_DATE.test(text)) return undefined;
  // asctime carries no zone but is GMT by definition (Date.parse would read it as local time).
  const at = Date.parse(`${text.replace(/-/g, " ").replace(/ GMT$/, "")} GMT`);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, at - nowMs), maxMs);
}
