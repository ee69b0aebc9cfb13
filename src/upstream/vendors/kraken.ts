import { TICKER } from '../../feeds/vendors/kraken.js';
import { isRecord, jsonText, parseJson, symbolList } from '../../feeds/vendors/types.js';
import type { UpstreamTick, VendorRequest, VendorServer } from './types.js';

/**
 * The server half of the Kraken stream, for the demo upstream (src/upstream/wsUpstream.ts). The wire format is
 * described with the client codec, src/feeds/vendors/kraken.ts; test/unit/vendors.test.ts tests the two halves
 * against each other.
 */

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
