/**
 * What every WebSocket vendor codec speaks: the client side (decode the vendor's frames, encode auth and
 * subscriptions), for the production feed (wsFeed.ts). Each vendor file holds the client half of its own wire
 * format; the server half, for the demo upstream, lives with the demo upstream and imports what the two share
 * from here (never the other way). test/unit/vendors.test.ts tests the two halves against each other.
 */

import { normalizeSymbol, type SymbolInfo } from '../../protocol.js';

export const VENDOR_FORMATS = ['polygon', 'alpaca', 'finnhub', 'coinbase', 'binance', 'kraken'] as const;
export type VendorFormat = (typeof VENDOR_FORMATS)[number];

/**
 * One price event as the vendor sent it, mapped onto Quote field names but not validated: the pipeline's
 * validateQuote checks every value (a vendor's bad number becomes a counted bad input, not a crash).
 * `price` is absent on bid/ask-only events; the feed fills it from the symbol's last trade.
 */
export type VendorTick = {
  symbol: unknown;
  ts: unknown;
  price?: unknown;
  bid?: unknown;
  ask?: unknown;
  size?: unknown;
  volume?: unknown;
  open?: unknown;
  high?: unknown;
  low?: unknown;
  prevClose?: unknown;
  upstreamSeq?: unknown;
  /** The vendor's id of the trade (Alpaca `i`), so a later correction or cancel can name it. */
  tradeId?: unknown;
};

/** A vendor's later word on a trade it sent (Alpaca `c` corrections and `x` cancels). */
export type TradeAmendment =
  | { kind: 'correction'; symbol: unknown; originalId: unknown; correctedId: unknown; price: unknown; ts: unknown }
  | { kind: 'cancel'; symbol: unknown; tradeId: unknown; ts: unknown };

/** What a server frame means to the client. A frame may carry several (vendors batch). */
export type VendorEvent =
  | { kind: 'tick'; tick: VendorTick }
  | { kind: 'connected' }
  | { kind: 'authenticated' }
  | { kind: 'auth_failed'; code?: number; message: string }
  | { kind: 'subscribed'; symbols: string[] }
  | { kind: 'heartbeat' }
  /** The symbols the vendor lists (Kraken's `instrument` channel). */
  | { kind: 'symbols'; symbols: SymbolInfo[] }
  | TradeAmendment
  /** The server is about to close the connection (Binance `serverShutdown`): reconnect now. */
  | { kind: 'closing'; message: string }
  /** `fatal`: retrying cannot help (bad credentials, missing entitlement); the feed stops. */
  | { kind: 'vendor_error'; code?: number; message: string; fatal: boolean }
  | { kind: 'malformed'; reason: string };

/**
 * What one feed connection yields: ready (authenticated), traffic on it once ready (frames, heartbeats, pongs),
 * ticks, and frames it could not decode.
 */
export type SessionOutput =
  | { kind: 'ready' }
  | { kind: 'alive' }
  | { kind: 'tick'; tick: VendorTick }
  | { kind: 'symbols'; symbols: SymbolInfo[] }
  | TradeAmendment
  | { kind: 'malformed'; reason: string; frame: string };

export type Credentials = { key?: string; secret?: string };

/** The client half of a vendor's protocol. Pure: no sockets, no clocks. */
export type VendorCodec = {
  format: VendorFormat;
  /** The URL to open (Finnhub puts its token in the query string). */
  connectUrl(url: string, credentials: Credentials): string;
  /** The frame that authenticates after the socket opens; undefined when the vendor needs none. */
  authFrame(credentials: Credentials): string | undefined;
  /**
   * Frames sent once the connection is ready, whatever is demanded: a subscription that keeps an idle connection
   * open (Coinbase closes one that has not subscribed within 5 s), or one that lists the vendor's symbols
   * (Kraken's `instrument`). `declared`: the feed's declared symbols.
   */
  readyFrames?(declared: readonly string[]): string[];
  /** Frames that ask the vendor to list its symbols over the connection (Kraken `instrument`). */
  listFrames?(): string[];
  subscribe(symbols: readonly string[]): string[];
  unsubscribe(symbols: readonly string[]): string[];
  /** `receivedAt` (epoch ms) stands in for the event time of messages that carry none (a Kraken ticker without one). */
  decode(frame: string, receivedAt?: number): VendorEvent[];
  /** What the vendor documents for one connection; the feed keeps under it. */
  limits?: VendorLimits;
  /** Where the vendor lists its symbols over HTTP (Binance exchangeInfo, Coinbase /products), and how to read it. */
  symbolListing?: SymbolListing;
};

export type SymbolListing = {
  /** The vendor's own endpoint; a feed's `symbolsUrl` points elsewhere (a demo upstream). */
  url: string;
  /** The listed symbols, or undefined when the body is not the vendor's listing. */
  decode(body: unknown): SymbolInfo[] | undefined;
};

export type VendorLimits = {
  /** Frames (text, ping, pong) the client may send per second (Binance: 5). */
  framesPerSecond?: number;
  /** Symbols one connection may subscribe to (Binance: 1024 streams, 3 per symbol). */
  maxSymbols?: number;
  /** Connections a feed opens to carry more than `maxSymbols` (default 1). */
  maxConnections?: number;
};

export const MAX_REPORTED_CHARS = 200;

/** Parses a frame as JSON; undefined (never a throw) when it is not. */
export function parseJson(frame: string): unknown {
  try {
    return JSON.parse(frame) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * A decoded JSON value as text for a message or a name. Never throws: `String()` does on {"toString":0}, which a
 * frame can hold (found by the codecs' property test), and a bad frame must be counted, not crash the feed.
 */
export function jsonText(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? 'undefined');
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Vendors that send prices as strings ("1285.22"): a number, or NaN so validation counts it. */
export function decimal(value: unknown): unknown {
  if (typeof value === 'string') return value.trim() === '' ? Number.NaN : Number(value);
  return value;
}

/** RFC 3339 times ("2022-10-19T23:28:22.061769Z") to epoch ms; anything else stays for validation to refuse. */
export function isoMillis(value: unknown): unknown {
  return typeof value === 'string' ? Date.parse(value) : value;
}

/** A list of symbol strings from an untrusted array: upper-cased, non-strings dropped. */
export function symbolList(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value.filter((s): s is string => typeof s === 'string' && s.length > 0).map(normalizeSymbol);
}

export function malformed(reason: string): VendorEvent {
  return { kind: 'malformed', reason };
}
