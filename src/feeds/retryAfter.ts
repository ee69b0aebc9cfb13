/**
 * The longest `Retry-After` a feed waits: a vendor asking for more is more likely wrong than right, and a timer
 * past 2^31 ms would fire at once (Node clamps it to 1 ms) and hammer the upstream instead.
 */
export const MAX_RETRY_AFTER_MS = 3_600_000;

/** The three HTTP-date forms (IMF-fixdate, RFC 850, asctime) all start with the day's name. */
const HTTP_DATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,? /;

/**
 * An HTTP `Retry-After` (RFC 9110 section 10.2.3) as the wait in ms from `nowMs` (wall-clock epoch ms): whole
 * seconds, or an HTTP-date (one already past is 0). Undefined when absent or not one of those; at most
 * MAX_RETRY_AFTER_MS.
 */
export function retryAfterMs(header: string | null | undefined, nowMs: number): number | undefined {
  if (header === null || header === undefined) return undefined;
  const text = header.trim();
  let waitMs: number;
  if (/^\d+$/.test(text)) waitMs = Number(text) * 1000;
  else if (HTTP_DATE.test(text)) waitMs = Date.parse(text) - nowMs;
  else return undefined;
  if (Number.isNaN(waitMs)) return undefined;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, waitMs));
}
