/**
 * How tickstream writes quotes for people, shared by the dashboard and `tickstream watch` so both show the same
 * thing: prices to 2 decimals (4 below 1), changes with a sign, ▲/▼, times in the exchange's zone.
 */

/**
 * `display` for people: thousands separators, a real minus sign (−), an en dash (–) for a missing value and
 * compact volumes (1.2M). `plain` for scripts: ASCII only, no separators, `-` for a missing value, whole volumes.
 */
export type NumberStyle = 'display' | 'plain';

/** How to write one number. */
export type NumberFormat = {
  /** `display` (the default) or `plain`. */
  style?: NumberStyle;
  /** Decimal places; by default 2 (for a price: 4 below 1, see {@link priceDigits}). */
  digits?: number;
};

const MINUS = '\u2212';
const MISSING: Record<NumberStyle, string> = { display: '\u2013', plain: '-' };

const grouped = new Map<number, Intl.NumberFormat>();
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 2 });

function groupedFormat(digits: number): Intl.NumberFormat {
  let format = grouped.get(digits);
  if (!format) {
    format = new Intl.NumberFormat('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
    grouped.set(digits, format);
  }
  return format;
}

function unsigned(value: number, digits: number, style: NumberStyle): string {
  return style === 'plain' ? Math.abs(value).toFixed(digits) : groupedFormat(digits).format(Math.abs(value));
}

/** Decimal places for a price: 4 below 1 (penny stocks, some crypto), else 2. */
export function priceDigits(price: number): number {
  return Math.abs(price) < 1 ? 4 : 2;
}

/** A price: "1,234.56" (`display`) or "1234.56" (`plain`); 4 decimals below 1 unless `digits` says otherwise. */
export function formatPrice(value: number | undefined, format: NumberFormat = {}): string {
  const style = format.style ?? 'display';
  if (value === undefined) return MISSING[style];
  const text = unsigned(value, format.digits ?? priceDigits(value), style);
  return value < 0 ? `${style === 'plain' ? '-' : MINUS}${text}` : text;
}

/**
 * A change with its sign, so direction reads without colour: "+1.23", "−0.45" ("-0.45" in `plain`), and no sign
 * when it rounds to zero ("0.00"). `suffix` follows the number: `formatSigned(pct, '%')`.
 */
export function formatSigned(value: number | undefined, suffix = '', format: NumberFormat = {}): string {
  const style = format.style ?? 'display';
  if (value === undefined) return MISSING[style];
  const digits = format.digits ?? 2;
  const text = unsigned(value, digits, style);
  if (text === unsigned(0, digits, style)) return `${text}${suffix}`;
  const sign = value > 0 ? '+' : style === 'plain' ? '-' : MINUS;
  return `${sign}${text}${suffix}`;
}

/** A day's volume: "1.23M" (`display`) or "1234567" (`plain`). */
export function formatVolume(value: number | undefined, format: Pick<NumberFormat, 'style'> = {}): string {
  const style = format.style ?? 'display';
  if (value === undefined) return MISSING[style];
  return style === 'plain' ? String(Math.round(value)) : compact.format(value);
}

/** "▲" for a positive direction, "▼" for a negative one, "" when flat. */
export function arrow(direction: number): string {
  return direction > 0 ? '▲' : direction < 0 ? '▼' : '';
}

/**
 * The time zone an exchange keeps its clock in (an IANA name), from `SymbolInfo.exchange`: US equities'
 * (America/New_York) when unknown, UTC for crypto venues, which trade round the clock.
 */
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
    case 'COINBASE':
      return 'UTC';
    default:
      return 'America/New_York';
  }
}

/** Whether `zone` is a time zone this runtime knows (an IANA name such as "Europe/Paris", or "UTC"). */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** The zone this machine's clock is set to (the browser's, or the Node process's `TZ`). */
export function localZone(): string {
  return new Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** What a {@link ClockFormatter} writes besides "HH:mm:ss". */
export type ClockOptions = {
  /** Add the zone's short name, "10:31:02 EST" (default true). */
  zoneName?: boolean;
  /** Add milliseconds, "10:31:02.123" (default false). */
  milliseconds?: boolean;
};

/**
 * Writes times of day in a given zone: "10:31:02 EST", 24-hour. Formatting dates is not cheap and many quotes
 * share a second, so the text of each (zone, second) is made once.
 */
export class ClockFormatter {
  private readonly zoneName: boolean;
  private readonly milliseconds: boolean;
  private readonly formats = new Map<string, Intl.DateTimeFormat>();
  private readonly seconds = new Map<string, { clock: string; zone: string }>();

  /** A formatter that writes what `options` asks for. */
  constructor(options: ClockOptions = {}) {
    this.zoneName = options.zoneName ?? true;
    this.milliseconds = options.milliseconds ?? false;
  }

  /** The time of day of `ts` (epoch milliseconds) in `zone` (an IANA name); throws a RangeError for an unknown zone. */
  format(ts: number, zone: string): string {
    const second = Math.floor(ts / 1000);
    const key = `${zone}|${second}`;
    let text = this.seconds.get(key);
    if (!text) {
      if (this.seconds.size > 2000) this.seconds.clear();
      text = this.clockOf(second * 1000, zone);
      this.seconds.set(key, text);
    }
    const millis = this.milliseconds ? `.${String(Math.floor(ts) - second * 1000).padStart(3, '0')}` : '';
    return `${text.clock}${millis}${this.zoneName ? ` ${text.zone}` : ''}`;
  }

  private clockOf(ts: number, zone: string): { clock: string; zone: string } {
    let format = this.formats.get(zone);
    if (!format) {
      format = new Intl.DateTimeFormat('en-US', {
        timeZone: zone,
        hourCycle: 'h23',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
        timeZoneName: 'short',
      });
      this.formats.set(zone, format);
    }
    const part = (parts: Intl.DateTimeFormatPart[], type: Intl.DateTimeFormatPartTypes) =>
      parts.find((p) => p.type === type)?.value ?? '';
    const parts = format.formatToParts(ts);
    return {
      clock: `${part(parts, 'hour')}:${part(parts, 'minute')}:${part(parts, 'second')}`,
      zone: part(parts, 'timeZoneName'),
    };
  }
}
