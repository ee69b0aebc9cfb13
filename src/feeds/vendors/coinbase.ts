import { normalizeSymbol } from '../../protocol.js';
import {
  decimal,
  isoMillis,
  isRecord,
  jsonText,
  malformed,
  parseJson,
  symbolList,
  type UpstreamTick,
  type VendorCodec,
  type VendorEvent,
  type VendorRequest,
  type VendorServer,
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
/** The Exchange feed's channels: the demo upstream refuses a subscribe that names another, as the Exchange does. */
const EXCHANGE_CHANNELS = new Set([
  'heartbeat',
  'status',
  'auction',
  'ticker',
  'ticker_batch',
  'level2',
  'level2_batch',
  'matches',
  'full',
  'user',
  'rfq_matches',
  'balance',
]);

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

const error = (reason: string) => JSON.stringify({ type: 'error', message: 'Failed to subscribe', reason });
const decimalString = (value: number | undefined) => (value === undefined ? undefined : String(value));

export const coinbaseServer: VendorServer = {
  format: 'coinbase',
  path: '/',
  auth: 'none',
  decodeRequest(frame): VendorRequest {
    const value = parseJson(frame);
    if (!isRecord(value) || !Array.isArray(value.channels)) {
      return { kind: 'invalid', reason: 'expected {type, product_ids, channels}' };
    }
    if (value.type !== 'subscribe' && value.type !== 'unsubscribe') {
      return { kind: 'invalid', reason: `unknown type ${jsonText(value.type)}` };
    }
    // A channel is a name (for the top-level product_ids) or {name, product_ids}.
    const named = value.channels.map((c: unknown) =>
      typeof c === 'string'
        ? { name: c, products: symbolList(value.product_ids) }
        : isRecord(c)
          ? { name: jsonText(c.name), products: symbolList(c.product_ids ?? value.product_ids) }
          : { name: jsonText(c), products: [] },
    );
    const unknown = named.find((c) => !EXCHANGE_CHANNELS.has(c.name));
    if (unknown) return { kind: 'invalid', reason: `${unknown.name} is not a valid channel` };
    const empty = named.find((c) => c.products.length === 0 && c.name !== 'status');
    if (empty)
      return { kind: 'invalid', reason: `You need to specify at least one product ID for channel ${empty.name}` };
    const of = (name: string) => named.filter((c) => c.name === name).flatMap((c) => c.products);
    return { kind: value.type, symbols: of('ticker'), heartbeats: of('heartbeat') };
  },
  hello: () => undefined,
  authSucceeded: () => error('unexpected'),
  authFailed: () => error('authentication failed'),
  notAuthenticated: () => error('authentication required'),
  subscribed: (_request, session) => [
    JSON.stringify({
      type: 'subscriptions',
      channels: [
        { name: 'ticker', product_ids: [...session.symbols].sort() },
        { name: 'heartbeat', product_ids: [...session.heartbeats].sort() },
      ].filter((c) => c.product_ids.length > 0),
    }),
  ],
  subscriptionRefused: (reason, detail) =>
    error(reason === 'symbol_limit' ? 'too many product_ids' : `${detail} is not a valid product`),
  connectionLimitExceeded: () => undefined,
  badRequest: (reason) => error(reason),
  restListing: {
    path: '/products',
    // GET /products (docs.cdp.coinbase.com/exchange/reference/exchangerestapi_getproducts), the fields used.
    body: (universe) =>
      universe.map((l) => {
        const [base, quote] = l.symbol.split('-');
        return {
          id: l.symbol,
          base_currency: base,
          quote_currency: quote,
          display_name: `${base}/${quote}`,
          status: 'online',
          trading_disabled: false,
        };
      }),
  },
  limits: { subscribeDeadlineMs: 5000 },
  ticks(ticks: readonly UpstreamTick[]) {
    return ticks.map((t) =>
      JSON.stringify({
        type: 'ticker',
        sequence: t.sequence,
        product_id: t.symbol,
        price: String(t.price),
        open_24h: decimalString(t.open),
        volume_24h: decimalString(t.volume),
        low_24h: decimalString(t.low),
        high_24h: decimalString(t.high),
        best_bid: decimalString(t.bid),
        best_ask: decimalString(t.ask),
        side: 'buy',
        time: new Date(t.ts).toISOString(),
        trade_id: t.sequence,
        last_size: decimalString(t.size),
      }),
    );
  },
  keepAlive: (session, now, lastSequence) =>
    [...session.heartbeats].sort().map((product_id) =>
      JSON.stringify({
        type: 'heartbeat',
        sequence: lastSequence(product_id),
        last_trade_id: lastSequence(product_id),
        product_id,
        time: new Date(now).toISOString(),
      }),
    ),
};
