import { describe, expect, it } from 'vitest';
import { type InvalidInput, validateQuote } from '../../src/pipeline/normalizeQuote.js';

const base = { symbol: 'AAPL', price: 100, ts: 1_700_000_000_000 };
/** The quote and every refusal reported for `value`. */
function check(value: unknown): { quote: unknown; invalid: InvalidInput[] } {
  const invalid: InvalidInput[] = [];
  return { quote: validateQuote(value, (i) => invalid.push(i)), invalid };
}

describe('validateQuote, field by field', () => {
  it('keeps a minimal quote as is, nothing reported', () => {
    expect(check(base)).toStrictEqual({ quote: base, invalid: [] });
  });

  it.each([
    ['price', 0, 'bad_price'],
    ['price', -1, 'bad_price'],
    ['price', Number.NaN, 'bad_price'],
    ['price', Number.POSITIVE_INFINITY, 'bad_price'],
    ['price', '100', 'bad_price'],
    ['ts', 0, 'bad_ts'],
    ['ts', -5, 'bad_ts'],
    ['ts', Number.NaN, 'bad_ts'],
    ['ts', Number.POSITIVE_INFINITY, 'bad_ts'],
    ['ts', '2026-01-01', 'bad_ts'],
    ['symbol', 'no way', 'bad_symbol'],
    ['symbol', 42, 'bad_symbol'],
  ] as const)('refuses %s = %s as %s, naming the field', (field, bad, reason) => {
    const value = { ...base, [field]: bad };
    expect(check(value)).toStrictEqual({ quote: undefined, invalid: [{ reason, field, value }] });
  });

  it('takes the smallest valid price and ts', () => {
    expect(check({ ...base, price: 0.0001, ts: 1 }).quote).toStrictEqual({ ...base, price: 0.0001, ts: 1 });
  });

  it.each(['bid', 'ask', 'open', 'high', 'low', 'prevClose'])(
    'optional %s: kept when positive; 0, negative, infinite or a string dropped alone and reported',
    (field) => {
      expect(check({ ...base, [field]: 0.5 })).toStrictEqual({ quote: { ...base, [field]: 0.5 }, invalid: [] });
      for (const bad of [0, -1, Number.POSITIVE_INFINITY, '1']) {
        const value = { ...base, [field]: bad };
        expect(check(value)).toStrictEqual({ quote: base, invalid: [{ reason: 'bad_field', field, value }] });
      }
    },
  );

  it.each(['size', 'volume'])(
    'optional %s: kept when 0 or more; negative, infinite or a string dropped and reported',
    (field) => {
      for (const good of [0, 7]) {
        expect(check({ ...base, [field]: good })).toStrictEqual({ quote: { ...base, [field]: good }, invalid: [] });
      }
      for (const bad of [-1, Number.NaN, '3']) {
        const value = { ...base, [field]: bad };
        expect(check(value)).toStrictEqual({ quote: base, invalid: [{ reason: 'bad_field', field, value }] });
      }
    },
  );

  it('keeps a source of up to 64 characters and a finite upstreamSeq, silently drops others', () => {
    const s64 = 'x'.repeat(64);
    expect(check({ ...base, source: s64, upstreamSeq: 0 })).toStrictEqual({
      quote: { ...base, source: s64, upstreamSeq: 0 },
      invalid: [],
    });
    expect(check({ ...base, source: '' }).quote).toStrictEqual({ ...base, source: '' });
    for (const extra of [
      { source: 'x'.repeat(65) },
      { source: 5 },
      { upstreamSeq: '5' },
      { upstreamSeq: Number.NaN },
      { upstreamSeq: Number.POSITIVE_INFINITY },
    ]) {
      expect(check({ ...base, ...extra })).toStrictEqual({ quote: base, invalid: [] });
    }
  });

  it('works without an onInvalid listener', () => {
    expect(validateQuote({ ...base, bid: -1 })).toStrictEqual(base);
    expect(validateQuote({ ...base, size: -1 })).toStrictEqual(base);
    expect(validateQuote({ ...base, ts: 0 })).toBeUndefined();
  });
});
