import { DateTime } from 'luxon';

const MINUS = '\u2212';

const price2 = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const price4 = new Intl.NumberFormat('en-US', { minimumFractionDigits: 4, maximumFractionDigits: 4 });
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 2 });

export function formatPrice(value: number | undefined): string {
  if (value === undefined) return '–';
  return (Math.abs(value) < 1 ? price4 : price2).format(value);
}

/** A signed number with a real minus sign, so direction reads without colour: "+1.23", "−0.45". */
export function formatSigned(value: number | undefined, suffix = ''): string {
  if (value === undefined) return '–';
  const text = price2.format(Math.abs(value));
  if (text === '0.00') return `0.00${suffix}`;
  return `${value > 0 ? '+' : MINUS}${text}${suffix}`;
}

export function formatVolume(value: number | undefined): string {
  return value === undefined ? '–' : compact.format(value);
}

/** A replay's speed as the controls show it: "10×", "max". */
export function speedText(speed: number | 'max'): string {
  return speed === 'max' ? 'max' : `${speed}×`;
}

/** ▲ up, ▼ down, nothing when flat. */
export function arrow(direction: number): string {
  return direction > 0 ? '▲' : direction < 0 ? '▼' : '';
}

/** The zone an exchange keeps its clock in; US equities when unknown. */
export function exchangeZone(exchange: string | undefined): string {
  switch (exchange?.toUpperCase()) {
    case 'LSE':
      return 'Europe/London';
    case 'XETRA':
    case 'FWB':
      return 'Europe/Berlin';
    case 'TSE':
    case 'JPX':
      return 'Asia/Tokyo';
    case 'CRYPTO':
      return 'UTC';
    default:
      return 'America/New_York';
  }
}

/**
 * "HH:mm:ss ZZZZ" of `ts` in `zone`. Luxon is not cheap: many quotes share a second, so the text for each
 * (zone, second) is made once.
 */
export class ClockFormatter {
  private cache = new Map<string, string>();

  constructor(private readonly withZone = true) {}

  format(ts: number, zone: string): string {
    const second = Math.floor(ts / 1000);
    const key = `${zone}|${second}`;
    let text = this.cache.get(key);
    if (text === undefined) {
      if (this.cache.size > 2000) this.cache.clear();
      text = DateTime.fromMillis(second * 1000, { zone }).toFormat(this.withZone ? 'HH:mm:ss ZZZZ' : 'HH:mm:ss');
      this.cache.set(key, text);
    }
    return text;
  }
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
