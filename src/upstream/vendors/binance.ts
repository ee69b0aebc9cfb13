import { MAX_STREAMS, STREAMS } from '../../feeds/vendors/binance.js';
import { isRecord, jsonText, parseJson } from '../../feeds/vendors/types.js';
import { normalizeSymbol } from '../../protocol.js';
import type { UpstreamTick, VendorRequest, VendorServer } from './types.js';

/**
 * The server half of the Binance stream, for the demo upstream (src/upstream/wsUpstream.ts). The wire format is
 * described with the client codec, src/feeds/vendors/binance.ts; test/unit/vendors.test.ts tests the two halves
 * against each other.
 */

const error = (code: number, msg: string) => JSON.stringify({ code, msg });

export const binanceServer: VendorServer = {
  format: 'binance',
  path: '/stream',
  auth: 'none',
  decodeRequest(frame): VendorRequest {
    const value = parseJson(frame);
    if (!isRecord(value)) return { kind: 'invalid', reason: 'Invalid JSON: expected value at line 1 column 1' };
    if (value.method !== 'SUBSCRIBE' && value.method !== 'UNSUBSCRIBE') {
      return {
        kind: 'invalid',
        reason: `Invalid request: unknown variant ${jsonText(value.method)}, expected one of \`SUBSCRIBE\`, \`UNSUBSCRIBE\`, \`LIST_SUBSCRIPTIONS\`, \`SET_PROPERTY\`, \`GET_PROPERTY\``,
      };
    }
    if (!Array.isArray(value.params)) return { kind: 'invalid', reason: 'Invalid request: missing field `params`' };
    const symbols = new Set<string>();
    for (const name of value.params) {
      if (typeof name === 'string' && name.includes('@'))
        symbols.add(normalizeSymbol(name.slice(0, name.indexOf('@'))));
    }
    return { kind: value.method === 'SUBSCRIBE' ? 'subscribe' : 'unsubscribe', symbols: [...symbols] };
  },
  hello: () => undefined,
  authSucceeded: () => error(2, 'Invalid request: unexpected auth'),
  authFailed: () => error(2, 'Invalid request: unexpected auth'),
  notAuthenticated: () => error(2, 'Invalid request: unexpected auth'),
  subscribed: () => [JSON.stringify({ result: null, id: null })],
  subscriptionRefused: (reason, detail) =>
    error(
      2,
      reason === 'symbol_limit' ? `Invalid request: more than ${MAX_STREAMS} streams` : `Invalid symbol ${detail}`,
    ),
  connectionLimitExceeded: () => undefined,
  badRequest: (reason) => error(reason.startsWith('Invalid JSON') ? 3 : 2, reason),
  ticks(ticks: readonly UpstreamTick[]) {
    return ticks.flatMap((t) => {
      const stream = t.symbol.toLowerCase();
      return [
        {
          stream: `${stream}@trade`,
          data: {
            e: 'trade',
            E: t.ts,
            s: t.symbol,
            t: t.sequence,
            p: String(t.price),
            q: String(t.size ?? 0),
            T: t.ts,
            m: false,
            M: true,
          },
        },
        {
          stream: `${stream}@bookTicker`,
          data: {
            u: t.sequence,
            s: t.symbol,
            b: String(t.bid ?? t.price),
            B: '1.00000000',
            a: String(t.ask ?? t.price),
            A: '1.00000000',
          },
        },
        {
          stream: `${stream}@miniTicker`,
          data: {
            e: '24hrMiniTicker',
            E: t.ts,
            s: t.symbol,
            c: String(t.price),
            o: String(t.open ?? t.price),
            h: String(t.high ?? t.price),
            l: String(t.low ?? t.price),
            v: String(t.volume ?? 0),
            q: '0',
          },
        },
      ].map((event) => JSON.stringify(event));
    });
  },
  keepAlive: () => [],
  restListing: {
    path: '/api/v3/exchangeInfo',
    // The response's shape (rest-api.md, "Exchange information"), with the fields a feed reads.
    body: (universe) => ({
      timezone: 'UTC',
      serverTime: Date.now(),
      rateLimits: [],
      exchangeFilters: [],
      symbols: universe.map((l) => ({
        symbol: l.symbol,
        status: 'TRADING',
        baseAsset: l.symbol.replace(/USDT$/, ''),
        quoteAsset: l.currency ?? 'USDT',
        isSpotTradingAllowed: true,
      })),
    }),
  },
  closingNotice: (now) => JSON.stringify({ stream: '!serverShutdown', data: { e: 'serverShutdown', E: now } }),
  limits: {
    framesPerSecond: 5,
    maxSymbols: Math.floor(MAX_STREAMS / STREAMS.length),
    maxConnectionMs: 24 * 3600_000,
    pingEveryMs: 20_000,
    pongTimeoutMs: 60_000,
  },
};
