/**
 * The types shared across the edge, in a leaf module (as Socket.IO keeps its socket types): the gateway,
 * auth, protection and the slow-consumer policy all import them from here, never from each other.
 */
import type { Observable } from 'rxjs';
import type { Server, Socket } from 'socket.io';
import type { ReplayControl } from '../feeds/types.js';
import type { Logger } from '../log.js';
import type {
  Bar,
  ClientToServerEvents,
  CloseNotice,
  Quote,
  ServerToClientEvents,
  Status,
  SymbolInfo,
} from '../protocol.js';
import type { TokenBucket } from './tokenBucket.js';

/** Why a credential was not accepted (src/delivery/auth.ts). */
export type AuthFailure = 'missing' | 'malformed' | 'bad_signature' | 'expired' | 'not_yet_valid' | 'unknown_token';
export type AuthResult = { ok: true; grant: Grant } | { ok: false; reason: AuthFailure };

/** Why an entry point was refused: no acceptable credential (HTTP 401), or one that does not reach (403). */
export type Refusal = { kind: 'unauthenticated'; reason: AuthFailure } | { kind: 'forbidden'; reason: 'not_admin' };

/** The access policy's answer for one use of an entry point (src/delivery/accessPolicy.ts). */
export type Access =
  | {
      ok: true;
      /** The verified grant, when there was one (an `anyone` entry point may be used without). */
      grant: Grant | undefined;
      /** Whether this use may see `symbol` (normalized): false only for a token's other symbols on a `granted` rule. */
      mayWatch(symbol: string): boolean;
    }
  | { ok: false; refusal: Refusal };

/** What a verified token allows. */
export type Grant = {
  role: 'user' | 'admin';
  /** Symbols the holder may subscribe to; every symbol when absent. */
  symbols?: ReadonlySet<string>;
  /** Epoch ms after which the grant ends (JWT `exp`). */
  expiresAt?: number;
  /** Who holds it, for logs (JWT `sub` or the static token's name). */
  subject?: string;
  /** No token came (`auth.required` false): an entry point beyond it asks for one (401), not refuses it (403). */
  anonymous?: true;
};

export type TickstreamServer = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
export type TickstreamSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

/** What the edge keeps per socket (Socket.IO's `socket.data`); who watches what is TierMembership's alone. */
export type SocketData = {
  /** The per-socket request budget, made on the first request (most sockets send few). */
  requests?: TokenBucket;
  /**
   * What the handshake's token allows (src/delivery/auth.ts; every socket's grant is admin while auth is off):
   * the access policy reads it for each event. Absent only before the handshake is admitted.
   */
  grant?: Grant;
  /** It asked for field deltas in its handshake (`auth: { deltas: true }`; docs/PROTOCOL.md, "Field deltas"). */
  deltas?: boolean;
  /** Why the server closed it, when the server did (the disconnect metric's reason). */
  closeReason?: CloseNotice['code'];
  /** This socket's logger (made on its first line): its lines carry `conn`, a short connection id. */
  log?: Logger;
  /** Requests handled so far; each request's log lines carry `req: <conn>-<n>`. */
  requestCount: number;
};

/** Where snapshots come from: the local LastValueCache, or Redis on a cluster gateway. */
export type SnapshotSource = { snapshot(symbols: readonly string[]): Quote[] | Promise<Quote[]> };

/**
 * A quote still in the text it came in (a gateway's, from Redis), decoded and checked when delivery first
 * sends it: a symbol that ticks faster than its rate tier has most of its quotes replaced unread.
 */
export type QuoteText = {
  readonly symbol: string;
  /** The quote, or undefined when the text is not a valid quote of `symbol` (reported by the source, once). */
  decode(): Quote | undefined;
};

/** Where the edge gets quotes: the local ingest part (`serve`) or Redis (`gateway`). */
export type QuoteSource = {
  /** The symbol's quotes as they come, for as long as subscribed; subscribing is the edge's demand for it. */
  quotes(symbol: string): Observable<Quote | QuoteText>;
};

/** Which symbols may be subscribed. */
export type SymbolSource = {
  has(symbol: string): boolean;
  list(): SymbolInfo[];
  /**
   * Resolves once the directory is known (a gateway's copy from Redis), so a subscribe in the first moments
   * is not refused for want of it. Absent where it is always known.
   */
  known?(): Promise<void>;
};

/** Intraday 1-minute bars (GET /api/history); a promise when they live in Redis. */
export type HistorySource = { bars(symbol: string): Bar[] | Promise<Bar[]> };

/** Whether this process can serve clients now, and if not, why (GET /readyz). */
export type Readiness = { ready: true } | { ready: false; reason: string };

/** What the edge part reads: every role's edge is the same code over these. */
export type EdgeSources = {
  quotes: QuoteSource;
  lastValues: SnapshotSource;
  directory: SymbolSource;
  history?: HistorySource;
  status: () => Status;
  readiness: () => Readiness;
  /** A replay's controls, served as the `replay` event (a replay runs in this process). */
  replay?: Pick<ReplayControl, 'command'>;
};
