import {
  BehaviorSubject,
  catchError,
  defer,
  distinctUntilChanged,
  EMPTY,
  finalize,
  from,
  identity,
  merge,
  type Observable,
  ReplaySubject,
  Subject,
  switchMap,
  throwError,
} from 'rxjs';
import { io, type Socket } from 'socket.io-client';
import { conflatePerSymbol } from './conflatePerSymbol.js';
import { type ConnectFailure, connectFailure } from './connectFailure.js';
import { DeltaStream } from './deltaStream.js';
import { TickstreamError } from './errors.js';
import { PendingRequests } from './pendingRequests.js';
import type { ErrorCode, Quote, Rejection, ReplayCommand, ReplayStatus, Status, SymbolInfo } from './protocol.js';
import { type SymbolOutcome, SymbolRefused, SymbolSubscriptions } from './symbolSubscriptions.js';
import {
  type ClientToServerEvents,
  ERROR_CODES,
  normalizeSymbol,
  type ReplayAck,
  type ServerToClientEvents,
  type SubscribeAck,
  type SymbolsAck,
} from './wire.js';

/** Where the client's connection is: trying to connect (or reconnecting), up, or down (lost, or closed). */
export type ConnectionState = 'connecting' | 'connected' | 'disconnected';

/** How to connect; every option has a default that suits the embedded tickstream server. */
export type ConnectOptions = {
  /** The access token, for a server with `auth` (sent in the Socket.IO handshake). */
  token?: string;
  /** Socket.IO transports, in the order tried (default websocket, then polling). */
  transports?: ('websocket' | 'polling')[];
  /** Socket.IO's path on the server (default `/socket.io`). */
  path?: string;
  /** How long to wait for the server to answer a request before giving up on it (default 10 000 ms). */
  ackTimeoutMs?: number;
  /**
   * The Socket.IO parser, when the server uses another than the default JSON one: a server configured with
   * `server.parser: "msgpack"` needs `import parser from 'socket.io-msgpack-parser'` here. Passed in rather than
   * imported, so the SDK bundles without it when it is not used.
   */
  parser?: SocketIoParser;
  /** Reconnection backoff: the first delay in ms (default 500); it doubles, with jitter, up to the ceiling. */
  reconnectionDelayMs?: number;
  /** Reconnection backoff: the longest delay in ms (default 5000). */
  reconnectionDelayMaxMs?: number;
  /**
   * Ask the server for field deltas (default true): each update carries only the fields that changed, and the
   * client rebuilds the whole quote, so watchers see the same Quotes with about half the bytes on the wire.
   * A server that does not know deltas sends whole quotes.
   */
  deltas?: boolean;
};

/** A Socket.IO parser module, such as `socket.io-msgpack-parser`'s default export. */
export type SocketIoParser = {
  /** Its Encoder class. */
  Encoder: {
    /** Makes the encoder of one connection. */
    new (): object;
  };
  /** Its Decoder class. */
  Decoder: {
    /** Makes the decoder of one connection. */
    new (): object;
  };
};

/** How a watch wants its quotes. */
export type WatchOptions = {
  /**
   * At most this many quotes per symbol per second, always the newest (the server conflates to its nearest rate
   * tier at or below it, or to its lowest tier when `maxHz` is below every tier; the client conflates further
   * when the server sends faster, or when it shares a faster subscription). Default: the server's default rate.
   */
  maxHz?: number;
};

/** A connection to one tickstream server, shared by every watch made with it. */
export interface TickstreamClient {
  /**
   * The quotes of `symbols` (case-insensitive): each symbol's snapshot first, then live updates, in order and
   * without duplicates, across reconnections. Errors with a {@link TickstreamError} when the server refuses
   * every symbol (its code: `UNKNOWN_SYMBOL`, `UNAUTHORIZED`, ...) or the whole request; symbols refused while
   * others are accepted appear on {@link rejected$} and the watch goes on, also when they are refused after a
   * reconnect (a server restarted without them) until none is left, when it errors as well. Completes when the
   * client is closed.
   */
  watch(symbols: readonly string[], options?: WatchOptions): Observable<Quote>;
  /**
   * The server's status (feeds, market session, replay): the latest one at once, then each change. Its
   * `throttled` is true from the status that throttled this connection until the one that restores it (the
   * server's other statuses leave the field out), and false again on a new connection.
   */
  readonly status$: Observable<Status>;
  /** The connection's state: the current one at once, then each change. */
  readonly connection$: Observable<ConnectionState>;
  /**
   * Each failed attempt to connect, and why ("connection refused", "HTTP 404", ...), while the client keeps
   * trying with backoff. Nothing is emitted once connected, until the connection is lost and an attempt fails.
   */
  readonly connectFailures$: Observable<ConnectFailure>;
  /** Per-symbol refusals of watches that still run on their other symbols (or, after a reconnect, go on). */
  readonly rejected$: Observable<Rejection>;
  /** The symbols the server's feeds have, with their names and exchanges. */
  symbols(): Promise<SymbolInfo[]>;
  /** Controls the server's replay (admin tokens only, when auth is on); resolves with the replay's new state. */
  replay(command: ReplayCommand): Promise<ReplayStatus>;
  /** Ends every watch (they complete) and closes the connection. */
  close(): void;
}

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

const errorCodeOf = (text: string): ErrorCode | undefined => ERROR_CODES.find((code) => code === text);

/** One Socket.IO connection shared by every watcher of this client. */
export class SocketTickstreamClient implements TickstreamClient {
  private readonly socket: ClientSocket;
  private readonly subscriptions: SymbolSubscriptions;
  private readonly deltas = new DeltaStream();
  private readonly requests: PendingRequests;
  // Subjects here are the bridge from socket.io's callbacks; status and state are kept for late subscribers.
  private readonly state = new BehaviorSubject<ConnectionState>('connecting');
  private readonly status = new ReplaySubject<Status>(1);
  private readonly rejections = new Subject<Rejection>();
  private readonly failures = new Subject<ConnectFailure>();
  private connections = 0;
  /** Whether the server holds this connection at its throttled rate (a slow reader): see {@link withThrottled}. */
  private throttled = false;
  /** Failed attempts since the last connection. */
  private attempts = 0;
  private failure: TickstreamError | undefined;
  private closed = false;

  readonly connection$: Observable<ConnectionState> = this.state.pipe(distinctUntilChanged());
  readonly status$: Observable<Status> = this.status.asObservable();
  readonly rejected$: Observable<Rejection> = this.rejections.asObservable();
  readonly connectFailures$: Observable<ConnectFailure> = this.failures.asObservable();

  constructor(url: string, options: ConnectOptions = {}) {
    this.requests = new PendingRequests(options.ackTimeoutMs ?? 10_000);
    this.socket = io(url, {
      forceNew: true,
      auth: {
        ...(options.token === undefined ? {} : { token: options.token }),
        ...(options.deltas === false ? {} : { deltas: true }),
      },
      transports: options.transports ?? ['websocket', 'polling'],
      path: options.path ?? '/socket.io',
      reconnectionDelay: options.reconnectionDelayMs ?? 500,
      reconnectionDelayMax: options.reconnectionDelayMaxMs ?? 5000,
      ...(options.parser ? { parser: options.parser } : {}),
    });
    this.subscriptions = new SymbolSubscriptions(
      {
        subscribe: (request, done) =>
          this.requests
            .ask<SubscribeAck>('subscribe', (answer) => this.socket.emit('subscribe', request, answer))
            .then(done, (err: unknown) => done(err instanceof Error ? err : new Error(String(err)))),
        unsubscribe: (request) => this.socket.emit('unsubscribe', request, () => {}),
      },
      (rejection) => this.rejections.next(rejection),
    );
    this.listen(url);
  }

  watch(symbols: readonly string[], options: WatchOptions = {}): Observable<Quote> {
    return defer(() => {
      if (this.failure) return throwError(() => this.failure);
      // Checked at run time too: JavaScript callers have no types to stop `watch('AAPL')` or `maxHz: '4'`.
      if (!Array.isArray(symbols)) {
        const got = shown(symbols);
        return throwError(
          () => new TickstreamError('BAD_REQUEST', `symbols must be an array such as ['AAPL'], got ${got}`),
        );
      }
      const { maxHz } = options;
      if (maxHz !== undefined && !(typeof maxHz === 'number' && Number.isFinite(maxHz) && maxHz > 0)) {
        const got = shown(maxHz);
        return throwError(() => new TickstreamError('BAD_REQUEST', `maxHz must be a positive number, got ${got}`));
      }
      const wanted = [...new Set(symbols.map((symbol) => normalizeSymbol(String(symbol))))];
      if (!wanted.length)
        return throwError(() => new TickstreamError('BAD_REQUEST', 'watch needs at least one symbol'));
      const lease = this.subscriptions.acquire(wanted, maxHz);
      return from(lease.ready).pipe(
        switchMap((outcomes) => this.live(outcomes)),
        // Conflating again at the rate the server already keeps would phase-lock with it and add up to one
        // interval of delay: only do it while another watcher makes the shared subscription faster.
        maxHz === undefined
          ? identity
          : conflatePerSymbol(maxHz, undefined, (symbol) => this.subscriptions.mayExceed(symbol, maxHz)),
        finalize(() => lease.release()),
      );
    });
  }

  symbols(): Promise<SymbolInfo[]> {
    return this.request('symbols', async () => {
      const ack = await this.requests.ask<SymbolsAck>('symbols', (answer) => this.socket.emit('symbols', {}, answer));
      if (!ack.ok) throw new TickstreamError(ack.error.code, ack.error.message);
      return ack.symbols;
    });
  }

  replay(command: ReplayCommand): Promise<ReplayStatus> {
    return this.request('replay', async () => {
      const ack = await this.requests.ask<ReplayAck>('replay', (answer) => this.socket.emit('replay', command, answer));
      if (!ack.ok) throw new TickstreamError(ack.error.code, ack.error.message);
      return ack.replay;
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.subscriptions.end({ kind: 'closed' });
    this.requests.abandonAll('the client is closed');
    this.socket.off();
    this.socket.io.off('reconnect_attempt', this.reconnecting);
    this.socket.disconnect();
    this.state.next('disconnected');
    this.state.complete();
    this.status.complete();
    this.rejections.complete();
    this.failures.complete();
  }

  /** The per-symbol streams of a watch once the server answered for each of its symbols. */
  private live(outcomes: SymbolOutcome[]): Observable<Quote> {
    const failed = outcomes.find((o) => o.kind === 'failed');
    if (failed) return throwError(() => failed.error);
    const accepted = outcomes.filter((o) => o.kind === 'accepted');
    const rejected = outcomes.flatMap((o) => (o.kind === 'rejected' ? [o.rejection] : []));
    if (!accepted.length && rejected.length) return throwError(() => everySymbolRefused(rejected));
    for (const rejection of rejected) this.rejections.next(rejection);
    // A symbol refused later (after a reconnect) leaves the watch to its others; once none is left, the watch
    // fails as one refused from the start would, rather than completing as if the client were closed.
    const refusedLater: Rejection[] = [];
    const streams = accepted.map((o) =>
      o.quotes$.pipe(
        catchError((err: unknown) => {
          if (!(err instanceof SymbolRefused)) return throwError(() => err);
          refusedLater.push(err.rejection);
          if (refusedLater.length < accepted.length) return EMPTY;
          return throwError(() => everySymbolRefused([...rejected, ...refusedLater]));
        }),
      ),
    );
    // Subscribing each symbol's stream delivers its snapshot synchronously, so all snapshots precede updates.
    return streams.length ? merge(...streams) : EMPTY;
  }

  /** A request that is refused at once when the client has failed or is closed. */
  private request<T>(what: string, send: () => Promise<T>): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new TickstreamError('INTERNAL', `${what}: the client is closed`));
    return send();
  }

  private listen(url: string): void {
    const { socket } = this;
    socket.on('connect', () => {
      this.deltas.reset();
      this.throttled = false;
      this.attempts = 0;
      this.state.next('connected');
      this.subscriptions.connected(++this.connections);
    });
    socket.on('disconnect', (reason) => {
      this.subscriptions.disconnected();
      // Requests sent on that connection will not be answered.
      this.requests.abandonAll('the connection dropped');
      this.state.next('disconnected');
      // The server closing (a restart, a deploy) ends the session without automatic reconnection: ask again.
      if (reason === 'io server disconnect') socket.connect();
    });
    socket.on('connect_error', (err) => {
      if (socket.active) {
        this.state.next('connecting');
        this.failures.next(connectFailure(err, ++this.attempts));
        return;
      }
      // The server refused the handshake itself (a token, in middleware): retrying cannot help.
      if (err.message === 'Invalid namespace') {
        // A path in the URL is a Socket.IO namespace to the client; tickstream serves only the root one.
        const namespace = new URL(url, 'http://localhost').pathname;
        this.fail(
          new TickstreamError(
            'BAD_REQUEST',
            `the server has no namespace ${namespace}: give its URL without a path (behind a proxy at a path, set ` +
              `the \`path\` option, e.g. "${namespace}/socket.io")`,
          ),
        );
        return;
      }
      const code = err.message === 'unauthorized' ? 'UNAUTHORIZED' : (errorCodeOf(err.message) ?? 'INTERNAL');
      const reason = refusalReason(err);
      this.fail(
        new TickstreamError(code, `the server refused the connection: ${err.message}${reason ? ` (${reason})` : ''}`),
      );
    });
    socket.io.on('reconnect_attempt', this.reconnecting);
    socket.on('ticks', (quotes) => this.subscriptions.receive(quotes));
    socket.on('deltas', (deltas) => this.subscriptions.receive(this.deltas.apply(deltas)));
    socket.on('status', (status) => this.status.next(this.withThrottled(status)));
  }

  /**
   * The status as it stands for this connection: only the server's two per-socket statuses carry `throttled`
   * (docs/PROTOCOL.md, "Slow consumers"), so the flag holds from one of them to the next.
   */
  private withThrottled(status: Status): Status {
    if (status.throttled !== undefined) this.throttled = status.throttled;
    return this.throttled && status.throttled === undefined ? { ...status, throttled: true } : status;
  }

  private readonly reconnecting = () => this.state.next('connecting');

  private fail(error: TickstreamError): void {
    this.failure = error;
    this.subscriptions.end({ kind: 'failed', error });
    this.requests.abandonAll(error);
    this.state.next('disconnected');
  }
}

/** A value as an error message shows it: a string quoted (so "4" is not taken for the number 4). */
function shown(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** The error of a watch whose every symbol the server refused, with the first refusal's code. */
function everySymbolRefused(rejected: readonly Rejection[]): TickstreamError {
  const first = rejected[0] as Rejection;
  const all = rejected.map((r) => `${r.symbol}: ${r.message}`).join('; ');
  return new TickstreamError(first.code, `every symbol was refused (${all})`, rejected);
}

/** The `data.reason` a server's handshake refusal carries ("expired", "unknown_token", ...), if any. */
function refusalReason(err: Error): string | undefined {
  const data = 'data' in err ? err.data : undefined;
  const reason = typeof data === 'object' && data !== null && 'reason' in data ? data.reason : undefined;
  return typeof reason === 'string' ? reason.replaceAll('_', ' ') : undefined;
}
