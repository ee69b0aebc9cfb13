/**
 * The wire protocol (see docs/PROTOCOL.md): the one place its types live, shared by the
 * server, the SDK and the dashboard so every emit and ack is checked by the compiler.
 */

export type Quote = {
  symbol: string;
  price: number;
  ts: number;
  seq: number;
  bid?: number;
  ask?: number;
  size?: number;
  volume?: number;
  open?: number;
  high?: number;
  low?: number;
  prevClose?: number;
  change?: number;
  changePct?: number;
  source?: string;
};

/** What a feed emits: a Quote before the server has given it a `seq` and day statistics. */
export type RawQuote = Omit<Quote, 'seq' | 'change' | 'changePct' | 'open' | 'high' | 'low'> & {
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
export type ErrorCode = (typeof ERROR_CODES)[number];

export type ProtocolError = { code: ErrorCode; message: string };
export type ErrorAck = { ok: false; error: ProtocolError };

export type SymbolInfo = { symbol: string; name?: string; exchange?: string; currency?: string };

export type Rejection = { symbol: string; code: ErrorCode; message: string };

export type SubscribeRequest = { symbols: string[]; maxHz?: number };
export type SubscribeAck =
  | { ok: true; subscribed: string[]; hz: number; snapshot: Quote[]; rejected: Rejection[] }
  | ErrorAck;

export type UnsubscribeRequest = { symbols: string[] };
export type UnsubscribeAck = { ok: true; subscribed: string[] } | ErrorAck;

export type SymbolsAck = { ok: true; symbols: SymbolInfo[] } | ErrorAck;

export type FeedState = 'live' | 'stale' | 'down' | 'replay';
export type FeedStatus = { id: string; state: FeedState; lastTs?: number; gaps?: number };

export type SessionState = 'pre' | 'open' | 'post' | 'closed';
export type SessionStatus = {
  exchange: string;
  state: SessionState;
  nextChange: string;
  /** Extension: the exchange's time zone (IANA), so clients show its times as it does. */
  zone?: string;
};

export type ReplayStatus = {
  speed: number | 'max';
  paused: boolean;
  /** Recorded time (epoch ms) of the replay head. */
  position: number;
  from?: number;
  to?: number;
  loop?: boolean;
  /** Extension: the head reached the end of the recording (or of `to`) and is not looping; a seek restarts it. */
  ended?: boolean;
  /** Extension: how many times the head jumped (seeks, loops); a client that charts by time reloads its history when it changes. */
  jumps?: number;
};

export type Status = {
  feeds: FeedStatus[];
  session?: SessionStatus;
  replay?: ReplayStatus;
  /** Extension: set while the server has lowered this socket's rate because it reads too slowly. */
  throttled?: boolean;
  /** Extension: the last status before the server closes this connection, and why. */
  closing?: CloseNotice;
  /** Extension: present when the server runs as a cluster role (docs/CLUSTER.md). */
  cluster?: ClusterStatus;
};

/** A cluster node's view of Redis: `down` means deliveries and snapshots from other nodes are interrupted. */
export type ClusterStatus = { role: 'ingest' | 'gateway'; redis: 'up' | 'down' };

/** Why the server is about to close a connection. */
export type CloseNotice = { code: 'SLOW_CONSUMER' | 'TOKEN_EXPIRED' | 'SHUTDOWN'; message: string };

export type ReplayCommand =
  | { action: 'pause' }
  | { action: 'resume' }
  | { action: 'speed'; speed: number | 'max' }
  | { action: 'seek'; position: number };
export type ReplayAck = { ok: true; replay: ReplayStatus } | ErrorAck;

export interface ServerToClientEvents {
  ticks: (quotes: Quote[]) => void;
  status: (status: Status) => void;
}

export interface ClientToServerEvents {
  subscribe: (request: SubscribeRequest, ack: (response: SubscribeAck) => void) => void;
  unsubscribe: (request: UnsubscribeRequest, ack: (response: UnsubscribeAck) => void) => void;
  symbols: (request: Record<string, never>, ack: (response: SymbolsAck) => void) => void;
  replay: (command: ReplayCommand, ack: (response: ReplayAck) => void) => void;
}

/** Symbols: upper-case letters and digits, with `.` `-` `/` `^` `=` as used by US equities, indices and crypto. */
export const SYMBOL_PATTERN = /^[A-Z0-9^][A-Z0-9.\-/=^]{0,19}$/;

export function errorAck(code: ErrorCode, message: string): ErrorAck {
  return { ok: false, error: { code, message } };
}
