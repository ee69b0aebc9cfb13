import { isoMillis, isRecord, malformed, parseJson, symbolList, type VendorCodec, type VendorEvent } from './types.js';

/**
 * Alpaca market data stream, stocks (`/v2/iex`, `/v2/sip`) and crypto (`/v1beta3/crypto/us`, symbols `BTC/USD`),
 * one format: `{"action":"auth","key","secret"}`, `{"action":"subscribe","trades":[..],"quotes":[..]}`; the server
 * sends arrays of messages keyed by `T`: `t` trade (S, i id, p, s, t RFC 3339), `q` quote (S, bp, bs, ap, as, t),
 * `c` trade correction (oi the original id, ci the corrected id, cp the corrected price) and `x` trade cancel (i),
 * both sent unasked to every trade subscriber, `success`, `subscription` (the whole subscription after the
 * change) and `error` with Alpaca's codes.
 */
export const ALPACA_ERRORS = {
  400: 'invalid syntax',
  401: 'not authenticated',
  402: 'auth failed',
  403: 'already authenticated',
  404: 'auth timeout',
  405: 'symbol limit exceeded',
  406: 'connection limit exceeded',
  407: 'slow client',
  409: 'insufficient subscription',
  500: 'internal error',
} as const;
export type AlpacaErrorCode = keyof typeof ALPACA_ERRORS;

/** Codes that retrying cannot fix: the credentials or the plan are wrong. */
const FATAL_CODES = new Set<number>([409]);

function decodeMessage(message: unknown): VendorEvent | undefined {
  if (!isRecord(message)) return malformed('message is not an object');
  switch (message.T) {
    case 't':
      return {
        kind: 'tick',
        tick: { symbol: message.S, price: message.p, size: message.s, ts: isoMillis(message.t), tradeId: message.i },
      };
    case 'c':
      return {
        kind: 'correction',
        symbol: message.S,
        originalId: message.oi,
        correctedId: message.ci,
        price: message.cp,
        ts: isoMillis(message.t),
      };
    case 'x':
      return { kind: 'cancel', symbol: message.S, tradeId: message.i, ts: isoMillis(message.t) };
    case 'q':
      return { kind: 'tick', tick: { symbol: message.S, bid: message.bp, ask: message.ap, ts: isoMillis(message.t) } };
    case 'success':
      if (message.msg === 'connected') return { kind: 'connected' };
      if (message.msg === 'authenticated') return { kind: 'authenticated' };
      return undefined;
    case 'subscription':
      return {
        kind: 'subscribed',
        symbols: [...new Set([...symbolList(message.trades), ...symbolList(message.quotes)])],
      };
    case 'error': {
      const code = typeof message.code === 'number' ? message.code : undefined;
      const text = typeof message.msg === 'string' ? message.msg : 'error';
      if (code === 402) return { kind: 'auth_failed', code, message: text };
      return { kind: 'vendor_error', code, message: text, fatal: code !== undefined && FATAL_CODES.has(code) };
    }
    default:
      // Bars, statuses, LULDs...: not quotes, and not errors either.
      return typeof message.T === 'string' ? undefined : malformed('message without "T"');
  }
}

export const alpacaCodec: VendorCodec = {
  format: 'alpaca',
  connectUrl: (url) => url,
  authFrame: (credentials) =>
    JSON.stringify({ action: 'auth', key: credentials.key ?? '', secret: credentials.secret ?? '' }),
  subscribe: (symbols) =>
    symbols.length ? [JSON.stringify({ action: 'subscribe', trades: symbols, quotes: symbols })] : [],
  unsubscribe: (symbols) =>
    symbols.length ? [JSON.stringify({ action: 'unsubscribe', trades: symbols, quotes: symbols })] : [],
  decode(frame) {
    const value = parseJson(frame);
    if (value === undefined) return [malformed('not JSON')];
    const messages = Array.isArray(value) ? value : [value];
    return messages.map(decodeMessage).filter((e): e is VendorEvent => e !== undefined);
  },
};
