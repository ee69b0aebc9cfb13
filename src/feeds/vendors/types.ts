/**
 * What every WebSocket vendor codec speaks: the client side (decode the vendor's frames, encode auth and
 * subscriptions) and the server side (the demo upstream in src/upstream/wsUpstream.ts). Each vendor file
 * holds both halves of its own wire format so that they are tested against each other.
 */

import { normalizeSymbol } from '../../protocol.js';

export const VENDOR_FORMATS = ['polygon', 'alpaca', 'finnhub', 'coinbase'] as const;
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
};

/** What a server frame means to the client. A frame may carry several (vendors batch). */
export type VendorEvent =
  | { kind: 'tick'; tick: VendorTick }
  | { kind: 'connected' }
  | { kind: 'authenticated' }
  | { kind: 'auth_failed'; code?: number; message: string }
  | { kind: 'subscribed'; symbols: string[] }
  | { kind: 'heartbeat' }
  /** `fatal`: retrying cannot help (bad credentials, missing entitlement); the feed stops. */
  | { kind: 'vendor_error'; code?: number; message: string; fatal: boolean }
  | { kind: 'malformed'; reason: string };

/** What one feed connection yields: ready (authenticated), ticks, and frames it could not decode. */
export type SessionOutput =
  | { kind: 'ready' }
  | { kind: 'tick'; tick: VendorTick }
  | { kind: 'malformed'; reason: string; frame: string };

export type Credentials = { key?: string; secret?: string };

/** The client half of a vendor's protocol. Pure: no sockets, no clocks. */
export type VendorCodec = {
  format: VendorFormat;
  /** The URL to open (Finnhub puts its token in the query string). */
  connectUrl(url: string, credentials: Credentials): string;
  /** The frame that authenticates after the socket opens; undefined when the vendor needs none. */
  authFrame(credentials: Credentials): string | undefined;
  subscribe(symbols: readonly string[]): string[];
  unsubscribe(symbols: readonly string[]): string[];
  decode(frame: string): VendorEvent[];
};

/** A client request as the demo upstream understands it. */
export type VendorRequest =
  | { kind: 'auth'; key: string; secret?: string }
  | { kind: 'subscribe'; symbols: string[] }
  | { kind: 'unsubscribe'; symbols: string[] }
  | { kind: 'invalid'; reason: string };

/** One connection's state on the demo upstream. */
export type UpstreamSession = { authenticated: boolean; symbols: Set<string>; closing?: boolean };

/** A tick the demo upstream sends (from createSimulator), with the vendor's own sequence when it has one. */
export type UpstreamTick = {
  symbol: string;
  price: number;
  ts: number;
  bid?: number;
  ask?: number;
  size?: number;
  volume?: number;
  /** The session's (or, for crypto, the last 24 hours') open, high and low. */
  open?: number;
  high?: number;
  low?: number;
  sequence?: number;
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

/** How a vendor checks who connects: an auth frame after connecting, a token in the URL, or not at all. */
export type AuthStyle = 'frame' | 'url' | 'none';

/** The server half of a vendor's protocol, for the demo upstream. Pure: it only builds and reads frames. */
export type VendorServer = {
  format: VendorFormat;
  path: string;
  auth: AuthStyle;
  decodeRequest(frame: string): VendorRequest;
  hello(): string | undefined;
  authSucceeded(): string;
  authFailed(): string;
  notAuthenticated(): string;
  /** The ack of a (un)subscribe, given the connection's whole set after it; undefined when the vendor sends none. */
  subscribed(symbols: readonly string[]): string | undefined;
  /** Refused subscriptions: over the symbol limit, or symbols the upstream does not list. */
  subscriptionRefused(reason: 'symbol_limit' | 'unknown_symbol', detail: string): string;
  /** Undefined: this vendor refuses the extra connection at the HTTP upgrade instead (429). */
  connectionLimitExceeded(): string | undefined;
  badRequest(reason: string): string;
  ticks(ticks: readonly UpstreamTick[]): string[];
  /** App-level keep-alives for the subscribed symbols (Coinbase heartbeats, Finnhub pings). */
  keepAlive(symbols: readonly string[], now: number, lastSequence: (symbol: string) => number): string[];
};
