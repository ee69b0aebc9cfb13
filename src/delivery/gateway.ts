import type { IncomingMessage } from 'node:http';
import type { Config } from '../config/schema.js';
import type { ReplayControl } from '../feeds/types.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { rateTier } from '../pipeline/rateTier.js';
import type { SymbolDirectory } from '../pipeline/symbolDirectory.js';
import {
  type ClientToServerEvents,
  type ErrorAck,
  errorAck,
  type Rejection,
  type ReplayAck,
  type Status,
  type SubscribeAck,
  SYMBOL_PATTERN,
  type SymbolsAck,
  type UnsubscribeAck,
} from '../protocol.js';
import { mayWatch } from './auth.js';
import { parseReplayCommand, parseSubscribe, parseUnsubscribe } from './requests.js';
import { roomHz } from './slowConsumers.js';
import { tierRoom } from './tierRooms.js';
import { TokenBucket } from './tokenBucket.js';
import type { SnapshotSource, TickstreamServer, TickstreamSocket } from './types.js';

export type GatewayDeps = {
  config: Config;
  /** Synchronous in one process; a promise when the last values live in Redis (cluster gateway). */
  /** Local (LastValueCache) or shared (RedisLastValues): a snapshot may have to be fetched. */
  cache: SnapshotSource;
  directory: Pick<SymbolDirectory, 'has' | 'list'>;
  status: () => Status;
  metrics: Metrics;
  logger: Logger;
  replay?: Pick<ReplayControl, 'command'>;
  /** Whether a socket may use admin events; by default all may when auth is off. */
  isAdmin?: (socket: TickstreamSocket) => boolean;
};

type Ack<T> = (response: T) => void;

/**
 * engine.io keeps a connection's first HTTP request (the upgrade, or the first poll) for the connection's
 * life, with its stream state and raw headers. Once a socket is accepted only what Socket.IO builds a
 * handshake from is kept (a client may still connect another namespace on the same connection): the
 * headers, query, url and whether it was TLS.
 */
function slimRequest(conn: { request: IncomingMessage & { _query?: unknown } }): void {
  const { headers, _query, url, socket } = conn.request;
  const encrypted = (socket as { encrypted?: boolean } | null)?.encrypted === true;
  conn.request = { headers, _query, url, connection: { encrypted } } as unknown as IncomingMessage;
}

/** The Socket.IO side of the protocol: requests, their validation and limits, and room membership. */
export class Gateway {
  constructor(
    private readonly io: TickstreamServer,
    private readonly deps: GatewayDeps,
  ) {}

  start(): void {
    this.io.on('connection', (socket) => this.accept(socket));
  }

  private accept(socket: TickstreamSocket): void {
    const { limits } = this.deps.config;
    socket.data.subscriptions = new Map();
    socket.data.requests = new TokenBucket(limits.requestsPerSecond, limits.requestBurst);
    socket.data.admin = this.deps.isAdmin ? this.deps.isAdmin(socket) : true;
    socket.data.requestCount = 0;
    slimRequest(socket.conn as unknown as { request: IncomingMessage & { _query?: unknown } });
    this.deps.metrics.connections.inc();
    socket.emit('status', this.deps.status());

    this.handle<SubscribeAck>(socket, 'subscribe', (payload) => this.subscribe(socket, payload));
    this.handle<UnsubscribeAck>(socket, 'unsubscribe', (payload) => this.unsubscribe(socket, payload));
    this.handle<SymbolsAck>(socket, 'symbols', () => ({ ok: true, symbols: this.deps.directory.list() }));
    this.handle<ReplayAck>(socket, 'replay', (payload) => this.replay(socket, payload));

    socket.on('disconnect', (reason) => {
      this.deps.metrics.disconnects.inc({ reason: socket.data.closeReason ?? reason });
      this.debug(socket, { reason: socket.data.closeReason ?? reason }, 'disconnected');
      this.deps.metrics.connections.dec();
      this.deps.metrics.subscriptions.dec(socket.data.subscriptions.size);
    });
  }

  /** A socket's logger, made when it first logs: most sockets never do, and a child logger is kept per socket. */
  private logOf(socket: TickstreamSocket): Logger {
    socket.data.log ??= this.deps.logger.child({ conn: socket.id.slice(0, 8) });
    return socket.data.log;
  }

  private debug(socket: TickstreamSocket, fields: object, message: string): void {
    if (this.deps.logger.isLevelEnabled('debug')) this.logOf(socket).debug(fields, message);
  }

  /**
   * Registers a request handler that tolerates any arguments: the ack is the last argument when it is a
   * function, the payload the first one that is not. Without an ack there is no one to answer: the request
   * is counted and dropped.
   */
  private handle<T extends { ok: boolean }>(
    socket: TickstreamSocket,
    event: keyof ClientToServerEvents,
    handler: (payload: unknown) => T | ErrorAck | Promise<T | ErrorAck>,
  ): void {
    const { metrics } = this.deps;
    (socket as unknown as { on(event: string, listener: (...args: unknown[]) => void): void }).on(event, (...args) => {
      const last = args[args.length - 1];
      const ack = typeof last === 'function' ? (last as Ack<T | ErrorAck>) : undefined;
      const payload = typeof args[0] === 'function' ? undefined : args[0];
      const req = `${socket.id.slice(0, 8)}-${++socket.data.requestCount}`;
      if (!ack) {
        metrics.requests.inc({ event, outcome: 'no_ack' });
        return;
      }
      if (!socket.data.requests.take()) {
        metrics.requests.inc({ event, outcome: 'rate_limited' });
        ack(errorAck('RATE_LIMITED', `more than ${this.deps.config.limits.requestsPerSecond} requests per second`));
        return;
      }
      Promise.resolve()
        .then(() => handler(payload))
        .then(
          (response) => {
            metrics.requests.inc({ event, outcome: response.ok ? 'ok' : 'error' });
            this.debug(socket, { req, event, ok: response.ok }, 'request');
            ack(response);
          },
          (err: unknown) => {
            this.logOf(socket).error({ err, req, event }, 'request failed');
            metrics.requests.inc({ event, outcome: 'internal' });
            ack(errorAck('INTERNAL', 'internal error'));
          },
        );
    });
  }

  private async subscribe(socket: TickstreamSocket, payload: unknown): Promise<SubscribeAck> {
    const { config, cache, directory, metrics } = this.deps;
    const parsed = parseSubscribe(payload, config.limits.maxSymbolsPerRequest);
    if (!parsed.ok) return parsed;
    const { tiers, defaultHz } = config.pipeline;
    const hz = rateTier(tiers, parsed.value.maxHz ?? defaultHz);
    const subscriptions = socket.data.subscriptions;
    const rejected: Rejection[] = [];
    const join: string[] = [];
    const leave: string[] = [];
    const accepted: string[] = [];
    for (const raw of new Set(parsed.value.symbols)) {
      const symbol = raw.trim().toUpperCase();
      if (!SYMBOL_PATTERN.test(symbol)) {
        rejected.push({ symbol: raw, code: 'BAD_REQUEST', message: 'not a valid symbol' });
        continue;
      }
      if (!directory.has(symbol)) {
        rejected.push({ symbol, code: 'UNKNOWN_SYMBOL', message: `unknown symbol ${symbol}` });
        continue;
      }
      if (!mayWatch(socket.data.grant, symbol)) {
        rejected.push({ symbol, code: 'UNAUTHORIZED', message: `this token does not allow ${symbol}` });
        continue;
      }
      const current = subscriptions.get(symbol);
      if (current === undefined && subscriptions.size >= config.limits.maxSymbolsPerSocket) {
        rejected.push({
          symbol,
          code: 'LIMIT_EXCEEDED',
          message: `at most ${config.limits.maxSymbolsPerSocket} symbols per connection`,
        });
        continue;
      }
      accepted.push(symbol);
      if (current === hz) continue;
      if (current !== undefined) leave.push(tierRoom(symbol, roomHz(socket.data, current)));
      else metrics.subscriptions.inc();
      subscriptions.set(symbol, hz);
      join.push(tierRoom(symbol, roomHz(socket.data, hz)));
    }
    // Join first, so that a tier change never drops a symbol's demand to zero in between.
    if (join.length) await socket.join(join);
    for (const room of leave) await socket.leave(room);
    const snapshot = await cache.snapshot(accepted);
    return { ok: true, subscribed: [...subscriptions.keys()], hz, snapshot, rejected };
  }

  private async unsubscribe(socket: TickstreamSocket, payload: unknown): Promise<UnsubscribeAck> {
    const parsed = parseUnsubscribe(payload, this.deps.config.limits.maxSymbolsPerSocket);
    if (!parsed.ok) return parsed;
    const subscriptions = socket.data.subscriptions;
    for (const raw of parsed.value.symbols) {
      const symbol = raw.trim().toUpperCase();
      const hz = subscriptions.get(symbol);
      if (hz === undefined) continue;
      subscriptions.delete(symbol);
      this.deps.metrics.subscriptions.dec();
      await socket.leave(tierRoom(symbol, roomHz(socket.data, hz)));
    }
    return { ok: true, subscribed: [...subscriptions.keys()] };
  }

  private async replay(socket: TickstreamSocket, payload: unknown): Promise<ReplayAck> {
    if (!socket.data.admin) return errorAck('UNAUTHORIZED', 'replay controls need an admin token');
    if (!this.deps.replay) return errorAck('BAD_REQUEST', 'this server is not replaying a recording');
    const parsed = parseReplayCommand(payload);
    if (!parsed.ok) return parsed;
    return this.deps.replay.command(parsed.value);
  }
}
