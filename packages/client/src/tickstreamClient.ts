import {
  BehaviorSubject,
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
import { TickstreamError } from './errors.js';
import {
  type ClientToServerEvents,
  ERROR_CODES,
  type ErrorCode,
  type Quote,
  type Rejection,
  type ReplayCommand,
  type ReplayStatus,
  type ServerToClientEvents,
  type Status,
  type SymbolInfo,
} from './protocol.js';
import { type SymbolOutcome, SymbolSubscriptions } from './symbolSubscriptions.js';

export type ConnectionState = 'connecting' | 'connected' | 'disconnected';

export type ConnectOptions = {
  token?: string;
  transports?: ('websocket' | 'polling')[];
  path?: string;
  /** How long to wait for the server to answer a request before giving up on it (default 10 000 ms). */
  ackTimeoutMs?: number;
  /**
   * The Socket.IO parser, when the server uses another than the default JSON one: a server configured with
   * `server.parser: "msgpack"` needs `import parser from 'socket.io-msgpack-parser'` here. Passed in rather than
   * imported, so the SDK bundles without it when it is not used.
   */
  parser?: SocketIoParser;
  /** Reconnection backoff: first delay and ceiling in ms (defaults 500 and 5000). */
  reconnectionDelayMs?: number;
  reconnectionDelayMaxMs?: number;
};

/** A Socket.IO parser module: its Encoder and Decoder classes. */
export type SocketIoParser = { Encoder: new () => object; Decoder: new () => object };

export type WatchOptions = { maxHz?: number };

export interface TickstreamClient {
  /** Snapshot quotes first, then live updates; errors with TickstreamError (protocol code) when the server refuses. */
  watch(symbols: readonly string[], options?: WatchOptions): Observable<Quote>;
  /** Replays the latest status to new subscribers. */
  readonly status$: Observable<Status>;
  readonly connection$: Observable<ConnectionState>;
  /** Per-symbol rejections from subscribe acks (of watches that still run on their other symbols). */
  readonly rejected$: Observable<Rejection>;
  symbols(): Promise<SymbolInfo[]>;
  replay(command: ReplayCommand): Promise<ReplayStatus>;
  close(): void;
}

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

const isErrorCode = (code: unknown): code is ErrorCode => ERROR_CODES.includes(code as ErrorCode);

/** One Socket.IO connection shared by every watcher of this client. */
export class SocketTickstreamClient implements TickstreamClient {
  private readonly socket: ClientSocket;
  private readonly subscriptions: SymbolSubscriptions;
  private readonly ackTimeoutMs: number;
  // Subjects here are the bridge from socket.io's callbacks; status and state are kept for late subscribers.
  private readonly state = new BehaviorSubject<ConnectionState>('connecting');
  private readonly status = new ReplaySubject<Status>(1);
  private readonly rejections = new Subject<Rejection>();
  private connections = 0;
  private failure: TickstreamError | undefined;
  private closed = false;

  readonly connection$: Observable<ConnectionState> = this.state.pipe(distinctUntilChanged());
  readonly status$: Observable<Status> = this.status.asObservable();
  readonly rejected$: Observable<Rejection> = this.rejections.asObservable();

  constructor(url: string, options: ConnectOptions = {}) {
    this.ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
    this.socket = io(url, {
      forceNew: true,
      auth: options.token === undefined ? {} : { token: options.token },
      transports: options.transports ?? ['websocket', 'polling'],
      path: options.path ?? '/socket.io',
      reconnectionDelay: options.reconnectionDelayMs ?? 500,
      reconnectionDelayMax: options.reconnectionDelayMaxMs ?? 5000,
      ...(options.parser ? { parser: options.parser } : {}),
    });
    this.subscriptions = new SymbolSubscriptions(
      {
        subscribe: (request, done) =>
          this.socket.timeout(this.ackTimeoutMs).emit('subscribe', request, (err, ack) => done(err ?? ack)),
        unsubscribe: (request) => this.socket.emit('unsubscribe', request, () => {}),
      },
      (rejection) => this.rejections.next(rejection),
    );
    this.listen();
  }

  watch(symbols: readonly string[], options: WatchOptions = {}): Observable<Quote> {
    return defer(() => {
      if (this.failure) return throwError(() => this.failure);
      const { maxHz } = options;
      if (maxHz !== undefined && !(Number.isFinite(maxHz) && maxHz > 0)) {
        return throwError(() => new TickstreamError('BAD_REQUEST', `maxHz must be a positive number, got ${maxHz}`));
      }
      const wanted = [...new Set(symbols.map((symbol) => String(symbol).trim().toUpperCase()))];
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
    return this.request(async () => {
      const ack = await this.socket.timeout(this.ackTimeoutMs).emitWithAck('symbols', {});
      if (!ack.ok) throw new TickstreamError(ack.error.code, ack.error.message);
      return ack.symbols;
    }, 'symbols');
  }

  replay(command: ReplayCommand): Promise<ReplayStatus> {
    return this.request(async () => {
      const ack = await this.socket.timeout(this.ackTimeoutMs).emitWithAck('replay', command);
      if (!ack.ok) throw new TickstreamError(ack.error.code, ack.error.message);
      return ack.replay;
    }, 'replay');
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.subscriptions.end({ kind: 'closed' });
    this.socket.off();
    this.socket.io.off('reconnect_attempt', this.reconnecting);
    this.socket.disconnect();
    this.state.next('disconnected');
    this.state.complete();
    this.status.complete();
    this.rejections.complete();
  }

  /** The per-symbol streams of a watch once the server answered for each of its symbols. */
  private live(outcomes: SymbolOutcome[]): Observable<Quote> {
    const failed = outcomes.find((o) => o.kind === 'failed');
    if (failed) return throwError(() => failed.error);
    const accepted = outcomes.filter((o) => o.kind === 'accepted');
    const rejected = outcomes.flatMap((o) => (o.kind === 'rejected' ? [o.rejection] : []));
    if (!accepted.length && rejected.length) {
      const first = rejected[0] as Rejection;
      const all = rejected.map((r) => `${r.symbol}: ${r.message}`).join('; ');
      return throwError(() => new TickstreamError(first.code, `every symbol was refused (${all})`));
    }
    for (const rejection of rejected) this.rejections.next(rejection);
    // Subscribing each symbol's stream delivers its snapshot synchronously, so all snapshots precede updates.
    return accepted.length ? merge(...accepted.map((o) => o.quotes$)) : EMPTY;
  }

  private request<T>(send: () => Promise<T>, what: string): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new TickstreamError('INTERNAL', `${what}: the client is closed`));
    return send().catch((err: unknown) => {
      if (err instanceof TickstreamError) throw err;
      // socket.io's own errors: no answer in time, or the connection dropped while waiting.
      throw new TickstreamError('INTERNAL', `${what}: ${err instanceof Error ? err.message : String(err)}`);
    });
  }

  private listen(): void {
    const { socket } = this;
    socket.on('connect', () => {
      this.state.next('connected');
      this.subscriptions.connected(++this.connections);
    });
    socket.on('disconnect', (reason) => {
      this.subscriptions.disconnected();
      this.state.next('disconnected');
      // The server closing (a restart, a deploy) ends the session without automatic reconnection: ask again.
      if (reason === 'io server disconnect') socket.connect();
    });
    socket.on('connect_error', (err) => {
      if (socket.active) {
        this.state.next('connecting');
        return;
      }
      // The server refused the handshake (auth, origin): retrying cannot help.
      const code =
        err.message === 'unauthorized' ? 'UNAUTHORIZED' : isErrorCode(err.message) ? err.message : 'INTERNAL';
      this.fail(new TickstreamError(code, `connection refused: ${err.message}`));
    });
    socket.io.on('reconnect_attempt', this.reconnecting);
    socket.on('ticks', (quotes) => this.subscriptions.receive(quotes));
    socket.on('status', (status) => this.status.next(status));
  }

  private readonly reconnecting = () => this.state.next('connecting');

  private fail(error: TickstreamError): void {
    this.failure = error;
    this.subscriptions.end({ kind: 'failed', error });
    this.state.next('disconnected');
  }
}
