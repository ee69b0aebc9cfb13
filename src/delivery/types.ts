/**
 * The types shared across the edge, in a leaf module (as Socket.IO keeps its socket types): the gateway,
 * auth, protection and the slow-consumer policy all import them from here, never from each other.
 */
import type { Server, Socket } from 'socket.io';
import type { Logger } from '../log.js';
import type { ClientToServerEvents, Quote, ServerToClientEvents } from '../protocol.js';
import type { TokenBucket } from './tokenBucket.js';

/** What a verified token allows. */
export type Grant = {
  role: 'user' | 'admin';
  /** Symbols the holder may subscribe to; every symbol when absent. */
  symbols?: ReadonlySet<string>;
  /** Epoch ms after which the grant ends (JWT `exp`). */
  expiresAt?: number;
  /** Who holds it, for logs (JWT `sub` or the static token's name). */
  subject?: string;
};

export type TickstreamServer = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
export type TickstreamSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

export type SocketData = {
  /** Symbol -> rate tier (Hz) this socket is subscribed at. */
  subscriptions: Map<string, number>;
  requests: TokenBucket;
  admin: boolean;
  /** What the handshake token allows (src/delivery/auth.ts); absent when auth is off. */
  grant?: Grant;
  /** Set while the slow-consumer monitor delivers this socket at a lower tier. */
  throttledHz?: number;
  /** Why the server closed it, when the server did (metrics). */
  closeReason?: string;
  /** This socket's logger (made on its first line, see `logOf`): its lines carry `conn`, a short connection id. */
  log?: Logger;
  /** Requests handled so far; each request's log lines carry `req: <conn>-<n>`. */
  requestCount: number;
};

/** Where snapshots come from: the local LastValueCache, or Redis on a cluster gateway. */
export type SnapshotSource = { snapshot(symbols: readonly string[]): Quote[] | Promise<Quote[]> };
