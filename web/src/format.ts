import { DateTime } from 'luxon';

// Prices, changes, volumes, arrows and clocks are written as `tickstream watch` writes them: one implementation,
// in the SDK.
export {
  arrow,
  ClockFormatter,
  exchangeZone,
  formatPrice,
  formatSigned,
  formatVolume,
} from '../../packages/client/src/index.js';

/** A replay's speed as the controls show it: "10×", "max". */
export function speedText(speed: number | 'max'): string {
  return speed === 'max' ? 'max' : `${speed}×`;
}

/** "2h 05m", "4m", "<1m" until `to`. */
export function formatUntil(to: DateTime, now: DateTime): string {
  const minutes = Math.floor(to.diff(now, 'minutes').minutes);
  if (minutes < 1) return '<1m';
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const rest = minutes % 60;
  if (days > 0) return `${days}d ${hours}h`;
  return hours > 0 ? `${hours}h ${String(rest).padStart(2, '0')}m` : `${rest}m`;
}

/**
 * A time-axis label in the exchange's zone: "HH:mm", or the weekday and date ("Tue 8") on a bar that opens an
 * exchange day (`opensDay`: a session's first bar after another day's) or at the zone's midnight. The chart
 * library marks day boundaries by UTC (19:00 in New York), so the exchange's own days are marked here.
 */
export function axisTimeLabel(seconds: number, zone: string, opensDay = false): string {
  const at = DateTime.fromSeconds(seconds, { zone });
  return opensDay || (at.hour === 0 && at.minute === 0) ? at.toFormat('ccc d') : at.toFormat('HH:mm');
}

/** The date of `seconds` in the exchange's zone ("2026-12-08"). */
export function exchangeDate(seconds: number, zone: string): string {
  return DateTime.fromSeconds(seconds, { zone }).toISODate() ?? '';
}

/** The bars (times in seconds, in order) that open an exchange day after another day's bar: not the first. */
export function dayOpenings(times: readonly number[], zone: string): Set<number> {
  const openings = new Set<number>();
  let previous: string | undefined;
  for (const time of times) {
    const date = exchangeDate(time, zone);
    if (previous !== undefined && date !== previous) openings.add(time);
    previous = date;
  }
  return openings;
}
