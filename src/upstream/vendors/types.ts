/**
 * What every demo vendor server speaks: the server half of a vendor's wire format, for the demo upstream in
 * src/upstream/wsUpstream.ts. The client half (the codecs the production feed uses) is in src/feeds/vendors.
 */

import type { VendorFormat } from '../../feeds/vendors/types.js';
import type { SymbolInfo } from '../../protocol.js';

/** How a demo upstream behaves as the vendor documents (and tests shrink): deadlines, rates, lifetimes. */
export type VendorServerLimits = {
  /** A connection that has not subscribed to anything by then is closed (Coinbase: 5 s). */
  subscribeDeadlineMs?: number;
  /** More frames than this from a client in one second close its connection (Binance: 5). */
  framesPerSecond?: number;
  /** Symbols one connection may subscribe to. */
  maxSymbols?: number;
  /** A connection is closed after this long (Binance: 24 h), after a `closing` notice where the vendor has one. */
  maxConnectionMs?: number;
  /** The server pings this often and closes a connection that has not ponged within `pongTimeoutMs`. */
  pingEveryMs?: number;
  pongTimeoutMs?: number;
};

/** A client request as the demo upstream understands it. */
export type VendorRequest =
  | { kind: 'auth'; key: string; secret?: string }
  /** `heartbeats`: products whose keep-alives are asked for (Coinbase's `heartbeat` channel). */
  | { kind: 'subscribe'; symbols: string[]; heartbeats?: string[] }
  | { kind: 'unsubscribe'; symbols: string[]; heartbeats?: string[] }
  /** The vendor's list of symbols (Kraken `instrument`). */
  | { kind: 'list' }
  /** An application-level ping that wants an answer (Kraken `{"method":"ping"}`). */
  | { kind: 'ping'; id?: unknown }
  | { kind: 'invalid'; reason: string };

/** One connection's state on the demo upstream. */
export type UpstreamSession = {
  authenticated: boolean;
  symbols: Set<string>;
  /** Products that get keep-alives (Coinbase's `heartbeat` channel). */
  heartbeats: Set<string>;
  /** Whether it ever subscribed to anything (Coinbase's 5 s deadline). */
  subscribedOnce: boolean;
  closing?: boolean;
};

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
  /**
   * The acks of a (un)subscribe, given the symbols it named and the connection's session after it (none when the
   * vendor sends none; Kraken acks each symbol).
   */
  subscribed(request: readonly string[], session: UpstreamSession, method: 'subscribe' | 'unsubscribe'): string[];
  /** Refused subscriptions: over the symbol limit, or symbols the upstream does not list. */
  subscriptionRefused(reason: 'symbol_limit' | 'unknown_symbol', detail: string): string;
  /** Undefined: this vendor refuses the extra connection at the HTTP upgrade instead (429). */
  connectionLimitExceeded(): string | undefined;
  badRequest(reason: string): string;
  ticks(ticks: readonly UpstreamTick[]): string[];
  /** App-level keep-alives for one connection (Coinbase heartbeats, Finnhub pings, Kraken heartbeats). */
  keepAlive(session: UpstreamSession, now: number, lastSequence: (symbol: string) => number): string[];
  /** The answer to a `list` request (Kraken's instrument snapshot). */
  listing?(universe: readonly SymbolInfo[]): string;
  /** The answer to an application-level ping. */
  pong?(id: unknown, now: number): string;
  /** Served over HTTP next to the WebSocket (Binance exchangeInfo, Coinbase /products). */
  restListing?: { path: string; body(universe: readonly SymbolInfo[]): unknown };
  /** The notice sent before the server closes a connection at `maxConnectionMs` (Binance `serverShutdown`). */
  closingNotice?(now: number): string;
  limits?: VendorServerLimits;
};
