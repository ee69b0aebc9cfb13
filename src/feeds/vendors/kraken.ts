import { normalizeSymbol, type SymbolInfo } from '../../protocol.js';
import {
  isoMillis,
  isRecord,
  jsonText,
  malformed,
  parseJson,
  symbolList,
  type VendorCodec,
  type VendorEvent,
} from './types.js';

/**
 * Kraken Spot WebSocket v2 (docs.kraken.com, spot-websocket-v2), public, no key: `wss://ws.kraken.com/v2`. The
 * server greets with a `status` message; `{"method":"subscribe","params":{"channel":"ticker","symbol":[..]}}` is
 * acked once per symbol (`success`, or `error`); the `ticker` channel sends a snapshot, then an update on every
 * trade: symbol, bid, ask, last, volume, low, high, change (24 h, in the quote currency) as numbers and an RFC 3339
 * `timestamp`. `heartbeat` comes about once a second while nothing else does. Pairs are `BTC/USD`; the
 * `instrument` channel lists them (its snapshot's `pairs`).
 */
export const TICKER = 'ticker';

const request = (method: 'subscribe' | 'unsubscribe', symbols: readonly string[]) =>
  symbols.length ? [JSON.stringify({ method, params: { channel: TICKER, symbol: symbols } })] : [];

const numberOr = (value: unknown) => (typeof value === 'number' ? value : undefined);

function decodeTicker(item: unknown, receivedAt: number | undefined): VendorEvent {
  if (!isRecord(item)) return malformed('ticker item is not an object');
  const last = item.last;
  const change = numberOr(item.change);
  // 24 hours ago's price is the last one less the 24 h change: the rolling window's open, as for Coinbase.
  const open = typeof last === 'number' && change !== undefined ? last - change : undefined;
  return {
    kind: 'tick',
    tick: {
      symbol: item.symbol,
      price: last,
      bid: item.bid,
      ask: item.ask,
      volume: item.volume,
      high: item.high,
      low: item.low,
      open,
      prevClose: open,
      ts: item.timestamp === undefined ? receivedAt : isoMillis(item.timestamp),
    },
  };
}

function decodePairs(data: unknown): SymbolInfo[] {
  if (!isRecord(data) || !Array.isArray(data.pairs)) return [];
  return data.pairs.flatMap((p: unknown) =>
    isRecord(p) && typeof p.symbol === 'string' && p.status === 'online'
      ? [
          {
            symbol: normalizeSymbol(p.symbol),
            name: p.symbol,
            exchange: 'Kraken',
            currency: typeof p.quote === 'string' ? p.quote : undefined,
          },
        ]
      : [],
  );
}

function decodeChannel(value: Record<string, unknown>, receivedAt: number | undefined): VendorEvent[] {
  switch (value.channel) {
    case TICKER:
      if (!Array.isArray(value.data)) return [malformed('ticker without a data array')];
      return value.data.map((item: unknown) => decodeTicker(item, receivedAt));
    case 'heartbeat':
      return [{ kind: 'heartbeat' }];
    case 'status': {
      const [status] = Array.isArray(value.data) ? value.data : [];
      const system = isRecord(status) ? status.system : undefined;
      // `maintenance`, `cancel_only`...: the connection stays, but no trades happen.
      if (system === 'online' || system === undefined) return [{ kind: 'connected' }];
      return [{ kind: 'vendor_error', message: `system ${jsonText(system)}`, fatal: false }];
    }
    case 'instrument':
      return value.type === 'snapshot' ? [{ kind: 'symbols', symbols: decodePairs(value.data) }] : [];
    default:
      return typeof value.channel === 'string' ? [] : [malformed('message without "channel" or "method"')];
  }
}

export const krakenCodec: VendorCodec = {
  format: 'kraken',
  connectUrl: (url) => url,
  authFrame: () => undefined,
  listFrames: () => [JSON.stringify({ method: 'subscribe', params: { channel: 'instrument', snapshot: true } })],
  subscribe: (symbols) => request('subscribe', symbols),
  unsubscribe: (symbols) => request('unsubscribe', symbols),
  decode(frame, receivedAt) {
    const value = parseJson(frame);
    if (!isRecord(value)) return [malformed(value === undefined ? 'not JSON' : 'not a JSON object')];
    if (value.method === 'pong') return [{ kind: 'heartbeat' }];
    if (value.method === 'subscribe' || value.method === 'unsubscribe') {
      if (value.success === false) {
        const message = typeof value.error === 'string' ? value.error : 'subscription refused';
        return [{ kind: 'vendor_error', message, fatal: false }];
      }
      const result = isRecord(value.result) ? value.result : {};
      if (result.channel !== TICKER || value.method !== 'subscribe') return [];
      return [{ kind: 'subscribed', symbols: symbolList([result.symbol]) }];
    }
    return decodeChannel(value, receivedAt);
  },
};
