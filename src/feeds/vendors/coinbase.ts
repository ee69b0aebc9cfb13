import { normalizeSymbol } from '../../protocol.js';
import {
  decimal,
  isoMillis,
  isRecord,
  malformed,
  parseJson,
  symbolList,
  type VendorCodec,
  type VendorEvent,
} from './types.js';

/**
 * Coinbase Exchange feed (wss://ws-feed.exchange.coinbase.com), `ticker` and `heartbeat` channels, no
 * authentication: `{"type":"subscribe","product_ids":[..],"channels":["ticker"]}`; the server sends `ticker`
 * (product_id, price, best_bid, best_ask, volume_24h, open_24h, high_24h, low_24h, last_size as decimal
 * strings, per-product `sequence`, ISO `time`), `heartbeat` (once a second per product of the `heartbeat`
 * channel), `subscriptions` and `error`. (`heartbeats`, plural, is the Advanced Trade API's channel, another
 * endpoint: the Exchange refuses it.) A connection that has not subscribed within 5 s is closed, so the feed
 * subscribes one declared product's `heartbeat` as soon as it connects: that keeps an idle connection open and
 * shows it alive while no one watches anything. Products are listed by `GET /products`.
 */
const TICKER = ['ticker'];

function decodeTicker(message: Record<string, unknown>): VendorEvent {
  const open = decimal(message.open_24h);
  return {
    kind: 'tick',
    tick: {
      symbol: message.product_id,
      price: decimal(message.price),
      ts: isoMillis(message.time),
      bid: decimal(message.best_bid),
      ask: decimal(message.best_ask),
      size: decimal(message.last_size),
      volume: decimal(message.volume_24h),
      // Crypto trades around the clock: the last 24 hours stand in for the day, and their open for prevClose.
      open,
      high: decimal(message.high_24h),
      low: decimal(message.low_24h),
      prevClose: open,
      // No upstreamSeq: a ticker's `sequence` numbers every message of the product's full channel (order
      // book changes included), and the ticker batches cascading matches, so its jumps are normal, not gaps.
    },
  };
}

/** The product whose heartbeat keeps a feed without declared symbols open. */
const DEFAULT_HEARTBEAT_PRODUCT = 'BTC-USD';

function tickerProducts(channels: unknown): string[] {
  if (!Array.isArray(channels)) return [];
  return channels.flatMap((c: unknown) => (isRecord(c) && c.name === 'ticker' ? symbolList(c.product_ids) : []));
}

export const coinbaseCodec: VendorCodec = {
  format: 'coinbase',
  connectUrl: (url) => url,
  authFrame: () => undefined,
  symbolListing: {
    url: 'https://api.exchange.coinbase.com/products',
    decode: (body) =>
      Array.isArray(body)
        ? body.flatMap((p: unknown) =>
            isRecord(p) && typeof p.id === 'string' && p.status === 'online' && p.trading_disabled !== true
              ? [
                  {
                    symbol: normalizeSymbol(p.id),
                    name: typeof p.display_name === 'string' ? p.display_name : undefined,
                    exchange: 'Coinbase',
                    currency: typeof p.quote_currency === 'string' ? p.quote_currency : undefined,
                  },
                ]
              : [],
          )
        : undefined,
  },
  readyFrames: (declared) => [
    JSON.stringify({
      type: 'subscribe',
      channels: [{ name: 'heartbeat', product_ids: [declared[0] ?? DEFAULT_HEARTBEAT_PRODUCT] }],
    }),
  ],
  subscribe: (symbols) =>
    symbols.length ? [JSON.stringify({ type: 'subscribe', product_ids: symbols, channels: TICKER })] : [],
  unsubscribe: (symbols) =>
    symbols.length ? [JSON.stringify({ type: 'unsubscribe', product_ids: symbols, channels: TICKER })] : [],
  decode(frame) {
    const value = parseJson(frame);
    if (!isRecord(value)) return [malformed(value === undefined ? 'not JSON' : 'not a JSON object')];
    switch (value.type) {
      case 'ticker':
        return [decodeTicker(value)];
      case 'heartbeat':
        return [{ kind: 'heartbeat' }];
      case 'subscriptions':
        return [{ kind: 'subscribed', symbols: tickerProducts(value.channels) }];
      case 'error': {
        const message = [value.message, value.reason].filter((s) => typeof s === 'string').join(': ');
        return [{ kind: 'vendor_error', message: message || 'error', fatal: false }];
      }
      default:
        return typeof value.type === 'string' ? [] : [malformed('message without "type"')];
    }
  },
};
