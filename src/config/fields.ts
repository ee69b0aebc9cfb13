/**
 * Config fields whose shape says less than their meaning: each is checked at start-up for what it must be (a
 * zone luxon knows, a date that exists, a URL of the right scheme...), and a failure names what was expected.
 */
import { DateTime, IANAZone } from 'luxon';
import { z } from 'zod';
import { normalizeSymbol, SYMBOL_PATTERN } from '../protocol.js';

/** `got "..."` for a message; values are short config strings (never a secret: those fields do not use it). */
const got = (input: unknown) => `got ${JSON.stringify(input)}`;

/** An IANA time zone luxon can compute in ("America/New_York", "UTC"); "Mars/Phobos" would fail at the first tick. */
export const timeZone = z.string().refine((zone) => IANAZone.isValidZone(zone), {
  error: (issue) => `expected an IANA time zone such as "America/New_York", ${got(issue.input)}`,
});

/** "YYYY-MM-DD" that exists on the calendar (not 2026-13-45, not 2026-02-30). */
export const calendarDate = z
  .string()
  .refine((text) => /^\d{4}-\d{2}-\d{2}$/.test(text) && DateTime.fromISO(text, { zone: 'UTC' }).isValid, {
    error: (issue) => `expected a date "YYYY-MM-DD" that exists, ${got(issue.input)}`,
  });

/** A time of day "HH:MM", 00:00 to 23:59. */
export const timeOfDay = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected a time "HH:MM" (00:00 to 23:59)');

/** Minutes since midnight of a valid `timeOfDay`. */
export function minutesOf(hhmm: string): number {
  const [hours = 0, minutes = 0] = hhmm.split(':').map(Number);
  return hours * 60 + minutes;
}

/**
 * A replay bound: "HH:MM[:SS]" on the recording's first day in the feed's `zone`, or an ISO date-time. Only its
 * shape is checked here; resolveReplayTime (src/feeds/replay.ts) turns it into a time once the recording is open.
 */
export const replayTime = z.string().refine(
  (text) => {
    const clock = /^(\d{1,2}):([0-5]\d)(?::([0-5]\d))?$/.exec(text.trim());
    return clock ? Number(clock[1]) <= 23 : DateTime.fromISO(text.trim()).isValid;
  },
  { error: (issue) => `expected "HH:MM" (or "HH:MM:SS") or an ISO date-time, ${got(issue.input)}` },
);

/** An absolute URL with one of `schemes` (without the colon) and a host. The URL is not echoed: it may hold a key. */
export function urlWith(schemes: readonly string[]): z.ZodString {
  const expected = `expected a ${schemes.map((s) => `${s}://`).join(' or ')} URL with a host`;
  return z.string().refine((text) => {
    if (!URL.canParse(text)) return false;
    const url = new URL(text);
    return schemes.includes(url.protocol.slice(0, -1)) && url.hostname !== '';
  }, expected);
}

/** A web page's origin, "https://app.example.com" (http or https, host, port; no path), or "*". */
export const origin = z.string().refine(
  (text) => {
    const trimmed = text.trim().replace(/\/+$/, '');
    if (trimmed === '*') return true;
    if (!URL.canParse(trimmed)) return false;
    const url = new URL(trimmed);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === trimmed.toLowerCase();
  },
  { error: (issue) => `expected an origin such as "https://app.example.com" (no path), ${got(issue.input)}` },
);

/** A symbol as the protocol spells it (any case here: it is upper-cased where it is used). */
export const symbolName = z.string().refine((text) => SYMBOL_PATTERN.test(normalizeSymbol(text)), {
  error: (issue) => `expected a symbol such as "AAPL" or "BTC-USD", ${got(issue.input)}`,
});
