import {
  decimal,
  isoMillis,
  isRecord,
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
 * Coinbase-style exchange feed, `ticker` and `heartbeats` channels, no authentication:
 * `{"type":"subscribe","product_ids":[..],"channels":["ticker","heartbeats"]}`; the server sends `ticker`
 * (product_id, price, best_bid, best_ask, volume_24h, open_24h, high_24h, low_24h, last_size as decimal
 * strings, per-product `sequence`, ISO `time`), `heartbeat`, `subscriptions` and `error`.
 */
const CHANNELS = ['ticker', 'heartbeats'];

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

function tickerProducts(channels: unknown): string[] {
  if (!Array.isArray(channels)) return [];
  return channels.flatMap((c: unknown) => (isRecord(c) && c.name === 'ticker' ? symbolList(c.product_ids) : []));
}

export const coinbaseCodec: VendorCodec = {
  format: 'coinbase',
  connectUrl: (url) => url,
  authFrame: () => undefined,
  subscribe: (symbols) =>
    symbols.length ? [JSON.stringify({ type: 'subscribe', product_ids: symbols, channels: CHANNELS })] : [],
  unsubscribe: (symbols) =>
    symbols.length ? [JSON.stringify({ type: 'unsubscribe', product_ids: symbols, channels: CHANNELS })] : [],
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
    if (!isRecord(value) || !Array.isArray(value.product_ids)) {
      return { kind: 'invalid', reason: 'expected {type, product_ids, channels}' };
    }
    const symbols = symbolList(value.product_ids);
    if (value.type === 'subscribe') return { kind: 'subscribe', symbols };
    if (value.type === 'unsubscribe') return { kind: 'unsubscribe', symbols };
    return { kind: 'invalid', reason: `unknown type ${String(value.type)}` };
  },
  hello: () => undefined,
  authSucceeded: () => error('unexpected'),
  authFailed: () => error('authentication failed'),
  notAuthenticated: () => error('authentication required'),
  subscribed: (symbols) =>
    JSON.stringify({ type: 'subscriptions', channels: CHANNELS.map((name) => ({ name, product_ids: symbols })) }),
  subscriptionRefused: (reason, detail) =>
    error(reason === 'symbol_limit' ? 'too many product_ids' : `${detail} is not a valid product`),
  connectionLimitExceeded: () => undefined,
  badRequest: (reason) => error(reason),
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
  keepAlive: (symbols, now, lastSequence) =>
    symbols.map((product_id) =>
      JSON.stringify({
        type: 'heartbeat',
        sequence: lastSequence(product_id),
        last_trade_id: lastSequence(product_id),
        product_id,
        time: new Date(now).toISOString(),
      }),
    ),
};
