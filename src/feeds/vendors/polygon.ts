import { normalizeSymbol } from '../../protocol.js';
import {
  type Credentials,
  isRecord,
  jsonText,
  malformed,
  parseJson,
  type VendorCodec,
  type VendorEvent,
} from './types.js';

/**
 * Polygon/Massive stocks stream: `{"action":"auth","params":KEY}`, `{"action":"subscribe","params":"T.AAPL,Q.AAPL"}`;
 * the server sends arrays of events: `T` trades (sym, p, s, t ms, q), `Q` quotes (sym, bp, bs, ap, as, t), `A`
 * and `AM` aggregates per second and per minute (sym, c close, av the day's volume, op the day's official open,
 * s/e the window in ms) and `status` messages (connected, auth_success, auth_failed, success, max_connections,
 * error).
 */

export const POLYGON_CHANNELS = ['T', 'Q', 'A', 'AM'] as const;
export type PolygonChannel = (typeof POLYGON_CHANNELS)[number];
export const DEFAULT_CHANNELS: readonly PolygonChannel[] = ['T', 'Q'];

export function channelParams(symbols: readonly string[], channels: readonly PolygonChannel[]): string {
  return symbols.flatMap((s) => channels.map((c) => `${c}.${s}`)).join(',');
}

/** "T.AAPL,Q.AAPL,T.MSFT" -> ["AAPL", "MSFT"]. */
export function symbolsOfParams(params: string): string[] {
  const out = new Set<string>();
  for (const part of params.split(',')) {
    const dot = part.indexOf('.');
    const symbol = normalizeSymbol(dot >= 0 ? part.slice(dot + 1) : part);
    if (symbol) out.add(symbol);
  }
  return [...out];
}

function decodeEvent(event: unknown): VendorEvent | undefined {
  if (!isRecord(event)) return malformed('event is not an object');
  switch (event.ev) {
    case 'T':
      return { kind: 'tick', tick: { symbol: event.sym, price: event.p, size: event.s, ts: event.t } };
    case 'Q':
      return { kind: 'tick', tick: { symbol: event.sym, bid: event.bp, ask: event.ap, ts: event.t } };
    case 'A':
    case 'AM':
      // A bar's close is the last price of its window, stamped at the window's end; `av` and `op` are the day's.
      return {
        kind: 'tick',
        tick: { symbol: event.sym, price: event.c, ts: event.e, volume: event.av, open: event.op },
      };
    case 'status':
      return decodeStatus(
        typeof event.status === 'string' ? event.status : jsonText(event.status),
        typeof event.message === 'string' ? event.message : '',
      );
    default:
      // Other channels (LULD, FMV...) are not quotes: ignore them rather than count them as bad.
      return typeof event.ev === 'string' ? undefined : malformed('event without "ev"');
  }
}

function decodeStatus(status: string, message: string): VendorEvent {
  switch (status) {
    case 'connected':
      return { kind: 'connected' };
    case 'auth_success':
      return { kind: 'authenticated' };
    case 'auth_failed':
      return { kind: 'auth_failed', message: message || 'authentication failed' };
    case 'success': {
      const match = /subscribed to: (.*)$/.exec(message);
      return { kind: 'subscribed', symbols: match?.[1] ? symbolsOfParams(match[1]) : [] };
    }
    default:
      return { kind: 'vendor_error', message: `${status}: ${message}`, fatal: false };
  }
}

/** The client codec subscribing to `channels` of each symbol (trades and quotes unless told otherwise). */
export function polygonCodecFor(channels: readonly PolygonChannel[] = DEFAULT_CHANNELS): VendorCodec {
  return {
    format: 'polygon',
    connectUrl: (url) => url,
    authFrame: (credentials: Credentials) => JSON.stringify({ action: 'auth', params: credentials.key ?? '' }),
    subscribe: (symbols) =>
      symbols.length ? [JSON.stringify({ action: 'subscribe', params: channelParams(symbols, channels) })] : [],
    unsubscribe: (symbols) =>
      symbols.length ? [JSON.stringify({ action: 'unsubscribe', params: channelParams(symbols, channels) })] : [],
    decode(frame) {
      const value = parseJson(frame);
      if (value === undefined) return [malformed('not JSON')];
      const events = Array.isArray(value) ? value : [value];
      return events.map(decodeEvent).filter((e): e is VendorEvent => e !== undefined);
    },
  };
}
