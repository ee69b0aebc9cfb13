import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import {
  arrow,
  ClockFormatter,
  exchangeZone,
  formatPrice,
  formatSigned,
  formatVolume,
  isTimeZone,
  priceDigits,
} from '../../packages/client/src/index.js';

describe('SDK formatting (shared by the dashboard and tickstream watch)', () => {
  it('writes prices to 2 decimals, 4 below 1, grouped for display and plain for scripts', () => {
    expect(formatPrice(1234.5)).toBe('1,234.50');
    expect(formatPrice(1234.5, { style: 'plain' })).toBe('1234.50');
    expect(formatPrice(0.12345)).toBe('0.1235');
    expect(formatPrice(230.1, { digits: 4 })).toBe('230.1000');
    expect(priceDigits(0.5)).toBe(4);
    expect(priceDigits(1)).toBe(2);
    expect(formatPrice(undefined)).toBe('–');
    expect(formatPrice(undefined, { style: 'plain' })).toBe('-');
  });

  it('signs changes with a real minus for display and ASCII for scripts, and none when they round to zero', () => {
    expect(formatSigned(1.234)).toBe('+1.23');
    expect(formatSigned(-0.456)).toBe('−0.46');
    expect(formatSigned(-0.456, '%', { style: 'plain' })).toBe('-0.46%');
    expect(formatSigned(-0.004)).toBe('0.00');
    expect(formatSigned(0.00004, '', { digits: 4 })).toBe('0.0000');
    expect(formatSigned(-1234.5)).toBe('−1,234.50');
    expect(formatSigned(undefined, '%')).toBe('–');
  });

  it('reads back the number it wrote in plain style, for any value', () => {
    fc.assert(
      fc.property(fc.double({ min: -1e9, max: 1e9, noNaN: true }), (value) => {
        const text = formatSigned(value, '', { style: 'plain' });
        expect(Number(text)).toBeCloseTo(value, 1);
        expect(text).toMatch(/^[-+]?\d+\.\d\d$/);
      }),
    );
  });

  it('writes volumes compact for display and whole for scripts; arrows by direction', () => {
    expect(formatVolume(1_234_567)).toBe('1.23M');
    expect(formatVolume(1_234_567.4, { style: 'plain' })).toBe('1234567');
    expect([arrow(2), arrow(-0.1), arrow(0)]).toEqual(['▲', '▼', '']);
  });

  it('writes a time of day in a zone as luxon did for the dashboard (HH:mm:ss ZZZZ), across daylight saving', () => {
    const clock = new ClockFormatter();
    const instants = [Date.UTC(2026, 0, 5, 15, 31, 2), Date.UTC(2026, 6, 1, 4, 0, 59), Date.UTC(2026, 2, 8, 7, 0, 0)];
    for (const zone of ['America/New_York', 'Europe/London', 'Asia/Tokyo', 'UTC']) {
      for (const ts of instants) {
        expect(clock.format(ts, zone)).toBe(DateTime.fromMillis(ts, { zone }).toFormat('HH:mm:ss ZZZZ'));
      }
    }
    expect(clock.format(Date.UTC(2026, 0, 5, 15, 31, 2), 'America/New_York')).toBe('10:31:02 EST');
    expect(clock.format(Date.UTC(2026, 6, 5, 15, 31, 2), 'America/New_York')).toBe('11:31:02 EDT');
  });

  it('adds milliseconds when asked, leaves the zone out when asked, and refuses an unknown zone', () => {
    const ts = Date.UTC(2026, 0, 5, 0, 0, 0, 7);
    expect(new ClockFormatter({ milliseconds: true }).format(ts, 'UTC')).toBe('00:00:00.007 UTC');
    expect(new ClockFormatter({ zoneName: false }).format(ts, 'Asia/Tokyo')).toBe('09:00:00');
    expect(() => new ClockFormatter().format(ts, 'Mars/Olympus')).toThrow(RangeError);
    expect([isTimeZone('Europe/Paris'), isTimeZone('UTC'), isTimeZone('Mars/Olympus')]).toEqual([true, true, false]);
  });

  it('knows the zone of an exchange, New York by default and UTC for crypto venues', () => {
    expect(exchangeZone('NASDAQ')).toBe('America/New_York');
    expect(exchangeZone(undefined)).toBe('America/New_York');
    expect(exchangeZone('lse')).toBe('Europe/London');
    expect(exchangeZone('Coinbase')).toBe('UTC');
  });
});
