import { isRecord, malformed, parseJson, type VendorCodec, type VendorEvent } from './types.js';

/**
 * Finnhub-style trades stream: the token goes in the URL (`?token=KEY`; a bad one is refused at the upgrade
 * with 401), `{"type":"subscribe","symbol":"AAPL"}` one symbol per message; the server sends
 * `{"type":"trade","data":[{s,p,t,v}]}`, `{"type":"ping"}` (needs no answer) and `{"type":"error","msg"}`.
 */
export const finnhubCodec: VendorCodec = {
  format: 'finnhub',
  connectUrl(url, credentials) {
    if (!credentials.key) return url;
    const target = new URL(url);
    target.searchParams.set('token', credentials.key);
    return target.toString();
  },
  authFrame: () => undefined,
  subscribe: (symbols) => symbols.map((symbol) => JSON.stringify({ type: 'subscribe', symbol })),
  unsubscribe: (symbols) => symbols.map((symbol) => JSON.stringify({ type: 'unsubscribe', symbol })),
  decode(frame) {
    const value = parseJson(frame);
    if (!isRecord(value)) return [malformed(value === undefined ? 'not JSON' : 'not a JSON object')];
    switch (value.type) {
      case 'trade': {
        if (!Array.isArray(value.data)) return [malformed('trade without a data array')];
        return value.data.map(
          (trade: unknown): VendorEvent =>
            isRecord(trade)
              ? { kind: 'tick', tick: { symbol: trade.s, price: trade.p, ts: trade.t, size: trade.v } }
              : malformed('trade is not an object'),
        );
      }
      case 'ping':
        return [{ kind: 'heartbeat' }];
      case 'error':
        return [{ kind: 'vendor_error', message: typeof value.msg === 'string' ? value.msg : 'error', fatal: false }];
      default:
        // News and other message types are not quotes.
        return typeof value.type === 'string' ? [] : [malformed('message without "type"')];
    }
  },
};
