import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/cli/duration.js';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
type Unit = keyof typeof UNIT_MS;

describe('parseDuration (record --duration, token --ttl)', () => {
  it('reads seconds, units that add up and ISO 8601, in milliseconds', () => {
    expect(parseDuration('90')).toBe(90_000);
    expect(parseDuration('1.5')).toBe(1500);
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration(' 10s ')).toBe(10_000);
    expect(parseDuration('PT10M')).toBe(600_000);
    expect(parseDuration('pt1h30m')).toBe(5_400_000);
  });

  it('refuses zero, unknown units, signs and nothing', () => {
    for (const text of [
      '0',
      '0s',
      'PT0S',
      '1w',
      '-5s',
      '+5s',
      '5 s',
      's',
      '',
      '   ',
      'soon',
      'P',
      '1h-30m',
      'Infinity',
    ])
      expect(parseDuration(text), text).toBeUndefined();
  });

  it('adds up any sequence of positive parts, whatever their order', () => {
    const part = fc.record({
      value: fc.integer({ min: 0, max: 10_000 }),
      unit: fc.constantFrom<Unit>('ms', 's', 'm', 'h', 'd'),
    });
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 6 }), (parts) => {
        const text = parts.map((p) => `${p.value}${p.unit}`).join('');
        const total = parts.reduce((sum, p) => sum + p.value * UNIT_MS[p.unit], 0);
        expect(parseDuration(text)).toBe(total > 0 ? total : undefined);
      }),
    );
  });

  it('reads a bare number as seconds, and never answers anything but a positive finite number or undefined', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), (seconds) => {
        expect(parseDuration(String(seconds))).toBe(seconds * 1000);
      }),
    );
    fc.assert(
      fc.property(fc.string(), (text) => {
        const ms = parseDuration(text);
        expect(ms === undefined || (Number.isFinite(ms) && ms > 0)).toBe(true);
      }),
    );
  });
});
