import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeSymbol, SYMBOL_PATTERN } from '../../src/protocol.js';

describe('symbols (docs/PROTOCOL.md, "Symbols")', () => {
  it.each([
    'AAPL',
    'BRK.B',
    'BTC-USD',
    // Kraken v2 and Alpaca crypto spell pairs with a slash.
    'BTC/USD',
    'BTCUSDT',
    // Finnhub's own documented example symbol (finnhub.io/docs/api/websocket-trades), and its forex form.
    'BINANCE:BTCUSDT',
    'OANDA:EUR_USD',
    'X:BTCUSD',
    '^GSPC',
    'EURUSD=X',
  ])('accepts %s', (symbol) => {
    expect(SYMBOL_PATTERN.test(symbol)).toBe(true);
  });

  it.each([
    '',
    ' ',
    'A B',
    'AAPL!',
    '<script>',
    ':AAPL',
    'AAPL:',
    'A::B',
    'A:B:C',
    '-',
    '/',
    '.B',
    'aapl',
    'A'.repeat(33),
  ])('refuses %j', (symbol) => {
    expect(SYMBOL_PATTERN.test(symbol)).toBe(false);
  });

  it('normalizeSymbol trims and upper-cases, and is idempotent', () => {
    expect(normalizeSymbol('  binance:btcusdt ')).toBe('BINANCE:BTCUSDT');
    fc.assert(
      fc.property(fc.string(), (raw) => {
        const once = normalizeSymbol(raw);
        expect(normalizeSymbol(once)).toBe(once);
      }),
    );
  });

  it('refuses any symbol with a character outside the documented set', () => {
    const allowed = /^[A-Z0-9.\-/_^=:]$/;
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 10 }),
        fc.string({ minLength: 1, maxLength: 1 }).filter((c) => !allowed.test(c)),
        (rest, bad) => {
          expect(SYMBOL_PATTERN.test(`A${bad}${rest}`)).toBe(false);
        },
      ),
    );
  });

  it('accepts every EXCHANGE:PAIR made of accepted parts', () => {
    const part = fc.stringMatching(/^[A-Z0-9][A-Z0-9_]{0,8}$/);
    fc.assert(
      fc.property(part, part, (exchange, pair) => {
        expect(SYMBOL_PATTERN.test(`${exchange}:${pair}`)).toBe(true);
      }),
    );
  });
});
