/**
 * The longest `Retry-After` a feed waits: a vendor asking for more is more likely wrong than right, and a timer
 * past 2^31 ms would fire at once (Node clamps it to 1 ms) and hammer the upstream instead.
 */
export const MAX_RETRY_AFTER_MS = 3_600_000;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const MONTH = `(?<month>${MONTHS.join('|')})`;
const TIME = '(?<hour>\\d{2}):(?<minute>\\d{2}):(?<second>\\d{2})';
/** The three HTTP-date forms (RFC 9110 section 5.6.7), each in GMT: IMF-fixdate, RFC 850 and asctime. */
const HTTP_DATES = [
  new RegExp(`^${DAY}, (?<day>\\d{2}) ${MONTH} (?<year>\\d{4}) ${TIME} GMT$`),
  new RegExp(`^(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day, (?<day>\\d{2})-${MONTH}-(?<yy>\\d{2}) ${TIME} GMT$`),
  new RegExp(`^${DAY} ${MONTH} (?<day>[ \\d]\\d) ${TIME} (?<year>\\d{4})$`),
];

/** An HTTP-date as epoch ms, or NaN for anything else (Date.parse reads asctime in local time, and more). */
function httpDateMs(text: string, nowMs: number): number {
  for (const form of HTTP_DATES) {
    const parts = form.exec(text)?.groups;
    if (!parts) continue;
    const field = (name: string) => Number(parts[name] ?? Number.NaN);
    const [day, hour, minute, second] = [field('day'), field('hour'), field('minute'), field('second')];
    if (hour > 23 || minute > 59 || second > 60) return Number.NaN;
    const ms = Date.UTC(yearOf(parts, nowMs), MONTHS.indexOf(parts.month ?? ''), day, hour, minute, second);
    // Date.UTC rolls an impossible day over ("31 Feb" is 3 March): a date that is not itself is no date.
    return new Date(ms).getUTCDate() === day ? ms : Number.NaN;
  }
  return Number.NaN;
}

/** RFC 850's two-digit year is the latest year with those digits not more than 50 years ahead (RFC 9110). */
function yearOf(parts: Record<string, string | undefined>, nowMs: number): number {
  if (parts.year !== undefined) return Number(parts.year);
  const thisYear = new Date(nowMs).getUTCFullYear();
  const year = thisYear - (thisYear % 100) + Number(parts.yy);
  return year > thisYear + 50 ? year - 100 : year;
}

/**
 * An HTTP `Retry-After` (RFC 9110 section 10.2.3) as the wait in ms from `nowMs` (wall-clock epoch ms): whole
 * seconds, or an HTTP-date (one already past is 0). Undefined when absent or not one of those; at most
 * MAX_RETRY_AFTER_MS.
 */
export function retryAfterMs(header: string | null | undefined, nowMs: number): number | undefined {
  if (header === null || header === undefined) return undefined;
  const text = header.trim();
  const waitMs = /^\d+$/.test(text) ? Number(text) * 1000 : httpDateMs(text, nowMs) - nowMs;
  if (Number.isNaN(waitMs)) return undefined;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, waitMs));
}
