import { Duration } from 'luxon';

const UNIT_MS = new Map([
  ['ms', 1],
  ['s', 1000],
  ['m', 60_000],
  ['h', 3_600_000],
  ['d', 86_400_000],
]);
const PARTS = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
const SECONDS = /^\d+(?:\.\d+)?$/;

/** What the duration flags (`record --duration`, `token --ttl`) accept, for their help and their errors. */
export const DURATION_FORMS = '90 (seconds), 30s, 10m, 1h30m, 7d, 250ms or ISO 8601 (PT10M)';

/**
 * A duration flag's text in milliseconds: a number of seconds, units that add up (`1h30m`), or ISO 8601;
 * undefined for anything else, and for nothing at all (zero).
 */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  let ms = 0;
  if (SECONDS.test(trimmed)) ms = Number(trimmed) * 1000;
  else if (PARTS.test(trimmed)) {
    for (const [, value, unit] of trimmed.matchAll(PART)) ms += Number(value) * (UNIT_MS.get(unit ?? '') ?? Number.NaN);
  } else if (/^P/i.test(trimmed)) {
    const iso = Duration.fromISO(trimmed.toUpperCase());
    if (iso.isValid) ms = iso.toMillis();
  }
  return ms > 0 && Number.isFinite(ms) ? ms : undefined;
}
