import { normalizeSymbol, type SymbolInfo } from '../../protocol.js';
import {
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
 * Kraken Spot WebSocket v2 (docs.kraken.com, spot-websocket-v2), public, no key: `wss://ws.kraken.com/v2`. The
 * server greets with a `status` message; `{"method":"subscribe","params":{"channel":"ticker","symbol":[..]}}` is
 * acked once per symbol (`success`, or `error`); the `ticker` channel sends a snapshot, then an update on every
 * trade: symbol, bid, ask, last, volume, low, high, change (24 h, in the quote currency) as numbers and an RFC 3339
 * `timestamp`. `heartbeat` comes about once a second while nothing else does. Pairs are `BTC/USD`; the
 * `instrument` channel lists them (its snapshot's `pairs`).
 */
const TICKER = 'ticker';

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

const ackTimes = (now: number) => {
  const at = new Date(now).toISOString();
  return { time_in: at, time_out: at };
};
const refusal = (error: string, symbol?: string) =>
  JSON.stringify({ error, method: 'subscribe', success: false, symbol, ...ackTimes(Date.now()) });

export const krakenServer: VendorServer = {
  format: 'kraken',
  path: '/v2',
  auth: 'none',
  decodeRequest(frame): VendorRequest {
    const value = parseJson(frame);
    if (!isRecord(value)) return { kind: 'invalid', reason: 'Malformed request' };
    if (value.method === 'ping') return { kind: 'ping', id: value.req_id };
    if (value.method !== 'subscribe' && value.method !== 'unsubscribe') {
      return { kind: 'invalid', reason: `Method not found ${jsonText(value.method)}` };
    }
    const params = isRecord(value.params) ? value.params : {};
    if (params.channel === 'instrument') return { kind: 'list' };
    if (params.channel !== TICKER)
      return { kind: 'invalid', reason: `Channel not supported ${jsonText(params.channel)}` };
    if (!Array.isArray(params.symbol)) return { kind: 'invalid', reason: 'Missing field symbol' };
    return { kind: value.method, symbols: symbolList(params.symbol) };
  },
  hello: () =>
    JSON.stringify({
      channel: 'status',
      data: [{ api_version: 'v2', connection_id: 8_628_615_390_848_610, system: 'online', version: '2.0.0' }],
      type: 'update',
    }),
  authSucceeded: () => refusal('unexpected auth'),
  authFailed: () => refusal('unexpected auth'),
  notAuthenticated: () => refusal('unexpected auth'),
  subscribed: (request, _session, method) =>
    request.map((symbol) =>
      JSON.stringify({
        method,
        result: { channel: TICKER, snapshot: true, symbol },
        success: true,
        ...ackTimes(Date.now()),
      }),
    ),
  subscriptionRefused: (reason, detail) =>
    reason === 'symbol_limit'
      ? refusal('Exceeded subscription limit')
      : refusal(`Currency pair not supported ${detail}`, detail),
  connectionLimitExceeded: () => undefined,
  badRequest: (reason) => refusal(reason),
  ticks(ticks: readonly UpstreamTick[]) {
    if (ticks.length === 0) return [];
    const data = ticks.map((t) => ({
      symbol: t.symbol,
      bid: t.bid ?? t.price,
      bid_qty: 1,
      ask: t.ask ?? t.price,
      ask_qty: 1,
      last: t.price,
      volume: t.volume ?? 0,
      vwap: t.price,
      low: t.low ?? t.price,
      high: t.high ?? t.price,
      change: t.open === undefined ? 0 : t.price - t.open,
      change_pct: t.open === undefined ? 0 : ((t.price - t.open) / t.open) * 100,
      timestamp: new Date(t.ts).toISOString(),
    }));
    return [JSON.stringify({ channel: TICKER, type: 'update', data })];
  },
  keepAlive: (session) => (session.symbols.size > 0 ? [JSON.stringify({ channel: 'heartbeat' })] : []),
  listing: (universe) =>
    JSON.stringify({
      channel: 'instrument',
      type: 'snapshot',
      data: {
        assets: [],
        pairs: universe.map((l) => {
          const [base, quote] = l.symbol.split('/');
          return { symbol: l.symbol, base, quote, status: 'online' };
        }),
      },
    }),
  pong: (id, now) => JSON.stringify({ method: 'pong', req_id: id, ...ackTimes(now) }),
};
