import { DateTime } from 'luxon';

/**
 * How a CSV column holds a time. `auto`: a number is epoch time in the unit its size says (s, ms, us or
 * ns), text with a zone or offset is ISO 8601, text without one ("2024-03-07 09:30:00.123") is local time
 * in the zone given; `epoch-*` a number in that unit; `iso` ISO 8601 (local in the zone when it has no
 * offset); anything else a luxon format (https://moment.github.io/luxon/#/parsing?id=table-of-tokens), in
 * the zone given.
 */
export type TimeFormat = 'auto' | 'iso' | 'epoch-s' | 'epoch-ms' | 'epoch-us' | 'epoch-ns' | { luxon: string };

const EPOCH_UNITS = { 'epoch-s': 1e3, 'epoch-ms': 1, 'epoch-us': 1e-3, 'epoch-ns': 1e-6 } as const;
const NAMED_FORMATS = ['auto', 'iso', 'epoch-s', 'epoch-ms', 'epoch-us', 'epoch-ns'] as const;
type NamedFormat = (typeof NAMED_FORMATS)[number];

export function parseTimeFormat(text: string): TimeFormat {
  const named = NAMED_FORMATS.find((name): name is NamedFormat => name === text);
  return named ?? { luxon: text };
}

/** Epoch milliseconds from a number whose unit its size tells: seconds up to year 5138, then ms, us, ns. */
function epochAuto(value: number): number {
  const magnitude = Math.abs(value);
  if (magnitude < 1e11) return value * 1e3;
  if (magnitude < 1e14) return value;
  if (magnitude < 1e17) return value / 1e3;
  return value / 1e6;
}

const NUMBER = /^-?\d+(\.\d+)?$/;
const LOCAL = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?$/;
const HAS_ZONE = /(Z|[+-]\d{2}(:?\d{2})?)$/i;

/**
 * A parser of one time format: text to epoch milliseconds (whole: tick data's nanoseconds are cut), or
 * undefined when the text is not such a time. Zone-less local times are the hot path of many vendor files:
 * they are read field by field, with the zone's offset looked up once per hour.
 */
export function timeParser(format: TimeFormat, zone: string): (text: string) => number | undefined {
  if (!DateTime.local().setZone(zone).isValid) throw new Error(`time zone "${zone}" is not a known zone`);
  const offsets = new Map<number, number>();
  const local = (match: RegExpExecArray): number | undefined => {
    const [, y, mo, d, h, mi, s, fraction] = match;
    const wall = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0));
    if (Number.isNaN(wall)) return undefined;
    const ms = fraction ? Math.floor(Number(`0.${fraction}`) * 1000) : 0;
    // The offset of that wall hour in the zone (luxon resolves DST gaps and overlaps its way).
    const hour = Math.floor(wall / 3_600_000);
    let offset = offsets.get(hour);
    if (offset === undefined) {
      const at = DateTime.fromObject({ year: Number(y), month: Number(mo), day: Number(d), hour: Number(h) }, { zone });
      if (!at.isValid) return undefined;
      offset = at.offset * 60_000;
      offsets.set(hour, offset);
    }
    return wall - offset + ms;
  };
  const whole = (ms: number) => (Number.isFinite(ms) ? Math.floor(ms) : undefined);
  if (format === 'auto' || format === 'iso') {
    return (text) => {
      const trimmed = text.trim();
      if (format === 'auto' && NUMBER.test(trimmed)) return whole(epochAuto(Number(trimmed)));
      const match = LOCAL.exec(trimmed);
      if (match) return local(match);
      if (!HAS_ZONE.test(trimmed)) return undefined;
      return whole(Date.parse(trimmed));
    };
  }
  if (typeof format === 'string') {
    const factor = EPOCH_UNITS[format];
    return (text) => (NUMBER.test(text.trim()) ? whole(Number(text) * factor) : undefined);
  }
  return (text) => {
    const at = DateTime.fromFormat(text.trim(), format.luxon, { zone });
    return at.isValid ? at.toMillis() : undefined;
  };
}
