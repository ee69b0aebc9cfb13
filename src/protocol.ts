/**
 * The wire protocol (see docs/PROTOCOL.md): the one place its types live, shared by the
 * server, the SDK and the dashboard so every emit and ack is checked by the compiler.
 */

/** One update of a symbol's price, with the day's statistics so far. */
export type Quote = {
  /** Upper case: "AAPL", "BRK.B", "BTC-USD". */
  symbol: string;
  /** The last price: finite, > 0. */
  price: number;
  /** Event time from the feed, epoch milliseconds UTC. */
  ts: number;
  /**
   * Extension (docs/PROTOCOL.md, "Epochs"): the numbering `seq` belongs to. A new epoch starts when the
   * process that numbers quotes starts, and on a replay seek or loop; epochs only grow. Order quotes of a
   * symbol by (epoch, seq).
   */
  epoch: number;
  /** Per symbol, assigned by the server, strictly increasing within an epoch; a jump means updates were conflated. */
  seq: number;
  /** Best bid. */
  bid?: number;
  /** Best ask. */
  ask?: number;
  /** The last trade's size. */
  size?: number;
  /** The day's cumulative volume. */
  volume?: number;
  /** The day's first price. */
  open?: number;
  /** The day's highest price. */
  high?: number;
  /** The day's lowest price. */
  low?: number;
  /** The previous session's close. */
  prevClose?: number;
  /** `price - prevClose`. */
  change?: number;
  /** `change` as a percentage of `prevClose`. */
  changePct?: number;
  /** The id of the feed that produced it. */
  source?: string;
};

/** What a feed emits: a Quote before the server has given it an `epoch`, a `seq` and day statistics. */
export type RawQuote = Omit<Quote, 'epoch' | 'seq' | 'change' | 'changePct' | 'open' | 'high' | 'low'> & {
  open?: number;
  high?: number;
  low?: number;
  /** Upstream's own sequence number, when the vendor has one (gap detection). */
  upstreamSeq?: number;
};

/** A 1-minute OHLC bar (GET /api/history); `time` is the bar's start, epoch milliseconds UTC (a multiple of 60 000). */
export type Bar = { time: number; open: number; high: number; low: number; close: number; volume: number };

/** The length of a `Bar`. */
export const BAR_MS = 60_000;

export const ERROR_CODES = [
  'BAD_REQUEST',
  'UNKNOWN_SYMBOL',
  'LIMIT_EXCEEDED',
  'RATE_LIMITED',
  'UNAUTHORIZED',
  'INTERNAL',
] as const;
/** Why the server refused a request or a symbol (docs/PROTOCOL.md). */
export type ErrorCode = (typeof ERROR_CODES)[number];

export type ProtocolError = { code: ErrorCode; message: string };
export type ErrorAck = { ok: false; error: ProtocolError };

/** A symbol a feed has. */
export type SymbolInfo = {
  /** As the protocol spells it, upper case. */
  symbol: string;
  /** The company or asset: "Apple Inc.". */
  name?: string;
  /** Where it trades: "NASDAQ", "NYSE", "Coinbase". */
  exchange?: string;
  /** The currency of its prices: "USD". */
  currency?: string;
};

/** One symbol of a subscribe request that the server refused, and why. */
export type Rejection = {
  /** The symbol asked for, as the server reads it: trimmed and upper-cased (`' aapl'` is `AAPL`). */
  symbol: string;
  /** The protocol's reason: `UNKNOWN_SYMBOL`, `UNAUTHORIZED` (not allowed by the token), `LIMIT_EXCEEDED`, ... */
  code: ErrorCode;
  /** For a person. */
  message: string;
};

/** Where a client is in a symbol's stream: the `[epoch, seq]` of the newest quote it has. */
export type StreamPosition = [epoch: number, seq: number];

export type SubscribeRequest = {
  symbols: string[];
  maxHz?: number;
  /**
   * Extension (resume): per symbol, the position of the newest quote the client already has. The ack's
   * snapshot then holds only the symbols whose last value is newer than that.
   */
  resume?: Record<string, StreamPosition>;
};
export type SubscribeAck =
  | { ok: true; subscribed: string[]; hz: number; snapshot: Quote[]; rejected: Rejection[] }
  | ErrorAck;

export type UnsubscribeRequest = { symbols: string[] };
export type UnsubscribeAck = { ok: true; subscribed: string[] } | ErrorAck;

export type SymbolsAck = { ok: true; symbols: SymbolInfo[] } | ErrorAck;

/**
 * A feed is `live`, `stale` (silent for `staleAfterMs`, as a feed that has not connected yet or is retrying its
 * connection), `down` (failed for good or ended) or a `replay`.
 */
export type FeedState = 'live' | 'stale' | 'down' | 'replay';
/** One upstream feed's state. */
export type FeedStatus = {
  /** The feed's id in the server's config. */
  id: string;
  /** Its state. */
  state: FeedState;
  /** The event time (epoch ms) of its last quote. */
  lastTs?: number;
  /** Extension: jumps seen in the upstream's sequence numbers (quotes sent that never arrived); absent when 0. */
  gaps?: number;
};

/** The market session: pre-market, open, after hours (`post`) or closed. */
export type SessionState = 'pre' | 'open' | 'post' | 'closed';
/** Where the exchange's trading day is. */
export type SessionStatus = {
  /** The exchange's name, from the server's `market` config. */
  exchange: string;
  /** The session now. */
  state: SessionState;
  /** When it next changes: an ISO-8601 time with the exchange's offset. */
  nextChange: string;
  /** Extension: the exchange's time zone (IANA), so clients show its times as it does. */
  zone?: string;
};

/** Where the server's replay of a recording is (docs/PROTOCOL.md, "Extension: replay"). */
export type ReplayStatus = {
  /** 0.5 to 50 times the recorded pace, or `max`: as fast as the server can. */
  speed: number | 'max';
  /** Whether it is paused. */
  paused: boolean;
  /** Recorded time (epoch ms) of the replay head. */
  position: number;
  /** The start of the range played (epoch ms, recorded time). */
  from?: number;
  /** The end of the range played (epoch ms, recorded time). */
  to?: number;
  /** Whether it starts over at the end. */
  loop?: boolean;
  /** Extension: the head reached the end of the recording (or of `to`) and is not looping; a seek restarts it. */
  ended?: boolean;
  /** Extension: how many times the head jumped (seeks, loops); a client that charts by time reloads its history when it changes. */
  jumps?: number;
};

/** The server's state, sent on connect and whenever it changes. */
export type Status = {
  /** Every upstream feed's state. */
  feeds: FeedStatus[];
  /** The market session, in the exchange's zone. */
  session?: SessionStatus;
  /** Present while the server replays a recording. */
  replay?: ReplayStatus;
  /** Extension: set while the server has lowered this socket's rate because it reads too slowly. */
  throttled?: boolean;
  /** Extension: the last status before the server closes this connection, and why. */
  closing?: CloseNotice;
  /** Extension: present when the server runs as a cluster role (docs/CLUSTER.md). */
  cluster?: ClusterStatus;
};

/** A cluster node's view of Redis: `down` means deliveries and snapshots from other nodes are interrupted. */
export type ClusterStatus = {
  /** The node's role. */
  role: 'ingest' | 'gateway';
  /** Whether it reaches Redis. */
  redis: 'up' | 'down';
};

/** Why the server is about to close a connection. */
export type CloseNotice = {
  /** `SLOW_CONSUMER` (read too slowly), `TOKEN_EXPIRED` (reconnect with a new token) or `SHUTDOWN`. */
  code: 'SLOW_CONSUMER' | 'TOKEN_EXPIRED' | 'SHUTDOWN';
  /** For a person. */
  message: string;
};

/** A command to the server's replay: pause, resume, change the speed, or seek to a recorded time (epoch ms). */
export type ReplayCommand =
  | {
      /** Hold the next quote until `resume`. */
      action: 'pause';
    }
  | {
      /** Release it, after the recorded time that was left. */
      action: 'resume';
    }
  | {
      /** Change the speed from now on. */
      action: 'speed';
      /** 0.5 to 50 times the recorded pace, or `max`. */
      speed: number | 'max';
    }
  | {
      /** Move the head; each symbol's last quote at that point is sent at once. */
      action: 'seek';
      /** Recorded time, epoch ms (clamped to the recording, or to its from/to range). */
      position: number;
    };
export type ReplayAck = { ok: true; replay: ReplayStatus } | ErrorAck;

export interface ServerToClientEvents {
  ticks: (quotes: Quote[]) => void;
  /** Extension (field deltas): instead of `ticks`, to a client that asked for them in its handshake. */
  deltas: (updates: QuoteDelta[]) => void;
  status: (status: Status) => void;
}

/**
 * Extension (field deltas, docs/PROTOCOL.md): one update of a symbol's stream as the fields that changed since
 * the previous update sent on that stream, under short keys. `T` (the time, absolute) marks an update with no
 * previous one: every field is there. Otherwise `t` is the time since the previous update's; a field that
 * is absent did not change, and `null` means it is gone.
 */
export type QuoteDelta = {
  /** symbol */
  s: string;
  /** seq */
  q: number;
  /** epoch: on an update with `T`, and when it differs from the previous update's */
  e?: number;
  /** ts, absolute: an update with no previous one */
  T?: number;
  /** ts minus the previous update's ts */
  t?: number;
  p?: number;
  b?: number | null;
  a?: number | null;
  z?: number | null;
  v?: number | null;
  o?: number | null;
  h?: number | null;
  l?: number | null;
  pc?: number | null;
  c?: number | null;
  cp?: number | null;
  src?: string | null;
};

/** The optional fields of a Quote and their keys in a QuoteDelta (price is always there, but may not change). */
const DELTA_FIELDS = [
  ['price', 'p'],
  ['bid', 'b'],
  ['ask', 'a'],
  ['size', 'z'],
  ['volume', 'v'],
  ['open', 'o'],
  ['high', 'h'],
  ['low', 'l'],
  ['prevClose', 'pc'],
  ['change', 'c'],
  ['changePct', 'cp'],
  ['source', 'src'],
] as const satisfies readonly (readonly [keyof Quote, keyof QuoteDelta])[];

type DeltaValues = Record<(typeof DELTA_FIELDS)[number][1], number | string | null | undefined>;
type QuoteValues = Record<(typeof DELTA_FIELDS)[number][0], number | string | undefined>;

/** `quote` as a delta from `previous` (the previous update of its stream), or whole when there is none. */
export function toDelta(quote: Quote, previous?: Quote): QuoteDelta {
  const delta: QuoteDelta = { s: quote.symbol, q: quote.seq };
  const out = delta as DeltaValues;
  const now = quote as QuoteValues;
  if (!previous) {
    delta.e = quote.epoch;
    delta.T = quote.ts;
    for (const [field, key] of DELTA_FIELDS) if (now[field] !== undefined) out[key] = now[field];
    return delta;
  }
  if (quote.epoch !== previous.epoch) delta.e = quote.epoch;
  delta.t = quote.ts - previous.ts;
  const before = previous as QuoteValues;
  for (const [field, key] of DELTA_FIELDS) {
    if (now[field] !== before[field]) out[key] = now[field] ?? null;
  }
  return delta;
}

/** The quote a delta makes of `previous` (the last update of its stream); undefined when it needs one and there is none. */
export function applyDelta(delta: QuoteDelta, previous?: Quote): Quote | undefined {
  let quote: Quote;
  if (delta.T !== undefined) {
    quote = { symbol: delta.s, price: 0, ts: delta.T, epoch: delta.e ?? 0, seq: delta.q };
  } else {
    if (!previous || previous.symbol !== delta.s || delta.t === undefined) return undefined;
    quote = { ...previous, ts: previous.ts + delta.t, epoch: delta.e ?? previous.epoch, seq: delta.q };
  }
  const out = quote as QuoteValues;
  const values = delta as DeltaValues;
  for (const [field, key] of DELTA_FIELDS) {
    if (!(key in delta)) continue;
    const value = values[key];
    if (value === null || value === undefined) delete out[field];
    else out[field] = value;
  }
  return quote;
}

export interface ClientToServerEvents {
  subscribe: (request: SubscribeRequest, ack: (response: SubscribeAck) => void) => void;
  unsubscribe: (request: UnsubscribeRequest, ack: (response: UnsubscribeAck) => void) => void;
  symbols: (request: Record<string, never>, ack: (response: SymbolsAck) => void) => void;
  replay: (command: ReplayCommand, ack: (response: ReplayAck) => void) => void;
}

/**
 * Symbols as real feeds spell them (docs/PROTOCOL.md, "Symbols"): upper-case letters and digits with `.` `-` `/`
 * `_` `^` `=` (`BRK.B`, `BTC-USD`, `BTC/USD`, `^GSPC`, `EURUSD=X`), optionally after one `EXCHANGE:` prefix
 * (Finnhub's `BINANCE:BTCUSDT`, `OANDA:EUR_USD`); at most 32 characters. Each part starts with a letter or
 * digit (`^` may start an index), so separators alone, spaces and other punctuation are refused.
 */
export const SYMBOL_PATTERN: RegExp = /^(?=.{1,32}$)(?:[A-Z0-9][A-Z0-9._-]*:)?[A-Z0-9^][A-Z0-9._\-/=^]*$/;

/** The one spelling of a symbol that came from outside (a client, a config, a vendor): trimmed, upper case. */
export function normalizeSymbol(raw: string): string {
  return raw.trim().toUpperCase();
}

/** Whether a quote at `position` is newer than one at `than`: a later epoch, or the same epoch and a higher seq. */
export function isNewer(position: StreamPosition, than: StreamPosition): boolean {
  return position[0] > than[0] || (position[0] === than[0] && position[1] > than[1]);
}

export function errorAck(code: ErrorCode, message: string): ErrorAck {
  return { ok: false, error: { code, message } };
}
