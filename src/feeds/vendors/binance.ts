import { normalizeSymbol } from '../../protocol.js';
import { decimal, isRecord, jsonText, malformed, parseJson, type VendorCodec, type VendorEvent } from './types.js';

/**
 * Binance Spot market data streams (github.com/binance/binance-spot-api-docs, web-socket-streams.md), no key:
 * the combined endpoint `wss://stream.binance.com:9443/stream` wraps each event as `{"stream","data"}`. Per
 * symbol the feed subscribes `<symbol>@trade` (each trade: s, p, q decimal strings, T trade time),
 * `<symbol>@bookTicker` (best bid and ask: b, a; no event time: the feed gives it the last trade's) and
 * `<symbol>@miniTicker` (rolling 24 h statistics each second: c, o, h, l, v), with
 * `{"method":"SUBSCRIBE","params":[..],"id":null}` answered `{"result":null,"id":null}`. Documented limits: 5
 * incoming messages a second (pings, pongs and SUBSCRIBEs count; over that the connection is cut), 1024 streams
 * per connection, a disconnect at 24 h (announced by `serverShutdown`), a server ping every 20 s to pong within
 * a minute (ws answers pings by itself). Symbols are listed by `GET /api/v3/exchangeInfo`.
 */
export const STREAMS = ['trade', 'bookTicker', 'miniTicker'] as const;
export const MAX_STREAMS = 1024;

const streamNames = (symbols: readonly string[]) =>
  symbols.flatMap((s) => STREAMS.map((stream) => `${s.toLowerCase()}@${stream}`));

const request = (method: 'SUBSCRIBE' | 'UNSUBSCRIBE', symbols: readonly string[]) =>
  symbols.length ? [JSON.stringify({ method, params: streamNames(symbols), id: null })] : [];

function decodeEvent(stream: unknown, data: unknown): VendorEvent[] {
  if (!isRecord(data)) return [malformed('stream data is not an object')];
  switch (data.e) {
    case 'trade':
      return [{ kind: 'tick', tick: { symbol: data.s, price: decimal(data.p), size: decimal(data.q), ts: data.T } }];
    case '24hrMiniTicker': {
      // A rolling 24 hours, as for Coinbase: their open stands in for the previous close.
      const open = decimal(data.o);
      const tick = { symbol: data.s, price: decimal(data.c), ts: data.E, open, prevClose: open };
      return [
        { kind: 'tick', tick: { ...tick, high: decimal(data.h), low: decimal(data.l), volume: decimal(data.v) } },
      ];
    }
    case 'serverShutdown':
      return [{ kind: 'closing', message: 'serverShutdown' }];
    default:
      if (typeof stream === 'string' && stream.endsWith('@bookTicker')) {
        // No time of its own, and not the receive time either: that is later than the exchange's times of the
        // trades that follow, which the merge of several feeds then dropped as older (withLastTradePrice stamps it).
        return [{ kind: 'tick', tick: { symbol: data.s, bid: decimal(data.b), ask: decimal(data.a), ts: undefined } }];
      }
      // Streams the feed did not ask for (aggTrade, depth...) are not quotes.
      return [];
  }
}

function errorEvent(error: Record<string, unknown>): VendorEvent {
  const code = typeof error.code === 'number' ? error.code : undefined;
  return { kind: 'vendor_error', code, message: typeof error.msg === 'string' ? error.msg : 'error', fatal: false };
}

export const binanceCodec: VendorCodec = {
  format: 'binance',
  connectUrl: (url) => url,
  authFrame: () => undefined,
  subscribe: (symbols) => request('SUBSCRIBE', symbols),
  unsubscribe: (symbols) => request('UNSUBSCRIBE', symbols),
  decode(frame) {
    const value = parseJson(frame);
    if (!isRecord(value)) return [malformed(value === undefined ? 'not JSON' : 'not a JSON object')];
    if ('stream' in value) return decodeEvent(value.stream, value.data);
    // {"result":null,"id":1}: a SUBSCRIBE or UNSUBSCRIBE succeeded.
    if ('result' in value) return [];
    if (isRecord(value.error)) return [errorEvent(value.error)];
    if (typeof value.code === 'number') return [errorEvent(value)];
    // A raw stream (/ws/<name>) sends the bare event.
    if (typeof value.e === 'string') return decodeEvent(undefined, value);
    return [malformed('neither a stream event nor an answer')];
  },
  // One frame in reserve for the pong that answers the server's ping. More symbols than a connection takes
  // open more connections (each with its own limits), up to 5: 1,705 symbols, far under the documented 300
  // connections per 5 minutes per IP even when all reconnect at once.
  limits: { framesPerSecond: 4, maxSymbols: Math.floor(MAX_STREAMS / STREAMS.length), maxConnections: 5 },
  symbolListing: {
    url: 'https://api.binance.com/api/v3/exchangeInfo?symbolStatus=TRADING',
    decode(body) {
      if (!isRecord(body) || !Array.isArray(body.symbols)) return undefined;
      return body.symbols.flatMap((s: unknown) =>
        isRecord(s) && typeof s.symbol === 'string' && s.status === 'TRADING'
          ? [
              {
                symbol: normalizeSymbol(s.symbol),
                name: `${jsonText(s.baseAsset)}/${jsonText(s.quoteAsset)}`,
                exchange: 'Binance',
                currency: typeof s.quoteAsset === 'string' ? s.quoteAsset : undefined,
              },
            ]
          : [],
      );
    },
  },
};
