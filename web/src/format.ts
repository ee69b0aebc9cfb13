import type { DateTime } from 'luxon';

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
