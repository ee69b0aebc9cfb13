import {
  asyncScheduler,
  catchError,
  defer,
  EMPTY,
  filter,
  map,
  merge,
  mergeMap,
  Observable,
  of,
  range,
  retry,
  type SchedulerLike,
  type Subscriber,
  type Subscription,
  share,
  shareReplay,
  throwError,
  timer,
} from 'rxjs';
import WebSocket from 'ws';
import type { WsFeedConfig } from '../config/schema.js';
import { messageOf } from '../errorMessage.js';
import type { Logger } from '../log.js';
import { normalizeSymbol, type SymbolInfo } from '../protocol.js';
import { backoffDelay } from '../retry.js';
import { demandShards } from './demandShards.js';
import { aliveSignals, quoteValues } from './feedOutputs.js';
import { FramePacer } from './framePacer.js';
import { fetchSymbolListing } from './symbolListing.js';
import type { FeedContext, FeedSource } from './types.js';
import { type Listing, listings, US_LISTINGS } from './universe.js';
import { cryptoListings } from './vendors/cryptoListings.js';
import {
  type Credentials,
  MAX_REPORTED_CHARS,
  type SessionOutput,
  type VendorCodec,
  type VendorEvent,
  type VendorFormat,
  vendorCodec,
} from './vendors/index.js';
import { withLastTradePrice } from './vendors/lastTradePrice.js';
import type { PolygonChannel } from './vendors/polygon.js';
import { withTradeAmendments } from './vendors/tradeAmendments.js';

export type WsFeedOptions = {
  /** The feed's id: every quote's `source`. */
  id: string;
  url: string;
  format: VendorFormat;
  key?: string;
  secret?: string;
  /**
   * The symbols clients watch; the feed subscribes upstream to exactly these, following every change. It must
   * give its current set on subscribe (the ingest part's does): each new connection subscribes to it afresh.
   */
  demand$?: Observable<ReadonlySet<string>>;
  /** The feed's declared symbols: subscribed to when there is no `demand$`; the first keeps Coinbase open. */
  symbols?: readonly string[];
  /** Polygon: the channels of each symbol (T, Q, A, AM); trades and quotes by default. */
  channels?: readonly PolygonChannel[];
  /** Ask the vendor for its symbols over the connection (Kraken `instrument`); they come out as `symbols`. */
  listSymbols?: boolean;
  reconnect?: { initialMs: number; maxMs: number };
  /** No frame, heartbeat or pong for this long (or no auth answer): the connection is dead, reconnect. */
  heartbeatTimeoutMs?: number;
  onEvent?: (event: WsFeedEvent) => void;
  random?: () => number;
  scheduler?: SchedulerLike;
};

/** What the feed tells its owner besides quotes (logs, tests). */
export type WsFeedEvent =
  | { kind: 'connecting' }
  | { kind: 'ready' }
  | { kind: 'subscribe'; symbols: string[] }
  | { kind: 'unsubscribe'; symbols: string[] }
  | { kind: 'subscribed'; symbols: string[] }
  /** Demanded symbols past the vendor's per-connection limit, not subscribed upstream. */
  | { kind: 'over_limit'; symbols: string[]; limit: number }
  | { kind: 'malformed'; reason: string }
  | { kind: 'vendor_error'; code?: number; message: string }
  | { kind: 'reconnecting'; reason: string; attempt: number; delayMs: number };

export type WsFeedFailure =
  | { kind: 'auth_failed'; code?: number; message: string }
  | { kind: 'vendor_error'; code?: number; message: string };

/** Why a feed stopped for good (retrying cannot help); other failures reconnect. */
export class WsFeedError extends Error {
  override name = 'WsFeedError';
  constructor(readonly failure: WsFeedFailure) {
    super(`${failure.kind === 'auth_failed' ? 'authentication failed' : 'vendor error'}: ${failure.message}`);
  }
}

/**
 * What a feed yields: Quote-shaped values for the pipeline to validate, symbols the vendor lists, and `alive`
 * for any traffic on an authenticated connection (frames, heartbeats, pongs).
 */
export type WsFeedOutput =
  | { kind: 'quote'; value: unknown }
  | { kind: 'symbols'; symbols: SymbolInfo[] }
  | { kind: 'alive' };

/** The feed's quotes alone (see wsFeedOutputs). */
export function wsFeed(options: WsFeedOptions): Observable<unknown> {
  return wsFeedOutputs(options).pipe(quoteValues());
}

/**
 * A WebSocket vendor feed: connects, authenticates, subscribes to the demanded symbols (re-doing both after
 * every reconnect) and emits Quote-shaped values for the pipeline to validate. A frame that cannot be decoded
 * is emitted as its (truncated) text, which validation refuses and counts; it never ends the feed. Drops and
 * silences reconnect with jittered exponential backoff; an auth failure or a fatal vendor error ends the
 * feed with a WsFeedError, without a reconnect loop. Trade corrections and cancels amend the last price.
 */
export function wsFeedOutputs(options: WsFeedOptions): Observable<WsFeedOutput> {
  const codec = vendorCodec(options.format, { channels: options.channels });
  const demand$ = options.demand$ ?? of(new Set(options.symbols ?? []));
  const { initialMs, maxMs } = options.reconnect ?? { initialMs: 500, maxMs: 30_000 };
  const random = options.random ?? Math.random;
  const scheduler = options.scheduler ?? asyncScheduler;
  // Each connection reconnects on its own; a session that became ready resets its backoff.
  const connection = (symbols$: Observable<ReadonlySet<string>>) =>
    defer(() => wsSession(options, codec, symbols$)).pipe(
      retry({
        resetOnSuccess: true,
        delay: (error: unknown, attempt) => {
          if (error instanceof WsFeedError) return throwError(() => error);
          const delayMs = backoffDelay(initialMs, maxMs, attempt, random());
          options.onEvent?.({ kind: 'reconnecting', reason: messageOf(error), attempt, delayMs });
          return timer(delayMs, scheduler);
        },
      }),
    );
  const { maxSymbols, maxConnections = 1 } = codec.limits ?? {};
  const sessions$ =
    maxSymbols === undefined || maxConnections <= 1
      ? connection(demand$)
      : shardedConnections(demand$, maxSymbols, maxConnections, connection);
  return defer(() =>
    sessions$.pipe(
      withTradeAmendments(),
      withLastTradePrice(),
      map((output) => feedOutput(output, options.id)),
      filter((output) => output !== undefined),
    ),
  );
}

/** What the feed yields of a session's output (not an inner Observable per tick: this is the hot path). */
function feedOutput(output: SessionOutput, source: string): WsFeedOutput | undefined {
  switch (output.kind) {
    case 'tick':
      return { kind: 'quote', value: { ...output.tick, source } };
    case 'malformed':
      return { kind: 'quote', value: output.frame };
    case 'symbols':
    case 'alive':
      return output;
    default:
      // `ready` is the session's own; trade amendments were applied above.
      return undefined;
  }
}

/**
 * The demand over several connections (demandShards): connection i is opened when the demand first needs it
 * (the first at once), follows its share of the demand, and stays open while the feed runs (an empty share subscribes nothing).
 */
function shardedConnections(
  demand$: Observable<ReadonlySet<string>>,
  perConnection: number,
  maxConnections: number,
  connection: (symbols$: Observable<ReadonlySet<string>>) => Observable<SessionOutput>,
): Observable<SessionOutput> {
  return defer(() => {
    // One assignment for every connection, replayed to a connection that (re)subscribes.
    const shards$ = demand$.pipe(
      demandShards(perConnection, maxConnections),
      shareReplay({ bufferSize: 1, refCount: true }),
    );
    let opened = 0;
    return shards$.pipe(
      mergeMap((shards) => {
        // The first connection opens even for no demand, as a single connection would (alive, listing).
        const wanted = Math.max(1, shards.length);
        const fresh = range(opened, Math.max(0, wanted - opened));
        opened = Math.max(opened, wanted);
        return fresh;
      }),
      mergeMap((index) => connection(shards$.pipe(map((shards) => shards[index] ?? new Set<string>())))),
    );
  });
}

/** One connection: its ready signal, ticks and malformed frames; it always ends in an error (drop, fatal). */
function wsSession(
  options: WsFeedOptions,
  codec: VendorCodec,
  demand$: Observable<ReadonlySet<string>>,
): Observable<SessionOutput> {
  const credentials: Credentials = { key: options.key, secret: options.secret };
  const timeoutMs = options.heartbeatTimeoutMs ?? 30_000;
  return new Observable<SessionOutput>((subscriber) => {
    options.onEvent?.({ kind: 'connecting' });
    const socket = new WebSocket(codec.connectUrl(options.url, credentials), { handshakeTimeout: timeoutMs });
    const liveness = new Liveness(timeoutMs);
    // Everything this connection sends goes through one pacer, pings included, under the vendor's frame rate.
    // A quarter second over the vendor's second: frames sent a second apart can arrive closer together.
    const pacer = new FramePacer(codec.limits?.framesPerSecond ?? Number.POSITIVE_INFINITY, 1250);
    const send = (frames: string[]) => sendPaced(socket, pacer, frames);
    const subscriptions = new DemandSync(socket, codec, pacer, options.onEvent);
    let demand: Subscription | undefined;
    let ready = false;
    const alive = () => {
      liveness.touch();
      // Authenticated traffic shows the upstream alive even when no one watches anything yet.
      if (ready) subscriber.next({ kind: 'alive' });
    };
    const becomeReady = () => {
      if (ready) return;
      ready = true;
      subscriber.next({ kind: 'alive' });
      options.onEvent?.({ kind: 'ready' });
      subscriber.next({ kind: 'ready' });
      send(codec.readyFrames?.(options.symbols ?? []) ?? []);
      if (options.listSymbols) send(codec.listFrames?.() ?? []);
      // The demand as it is now, then every change: after a reconnect this re-subscribes everything.
      demand = demand$.subscribe((symbols) => subscriptions.follow(symbols));
    };
    const route = { subscriber, onEvent: options.onEvent, becomeReady };

    socket.on('open', () => {
      alive();
      const auth = codec.authFrame(credentials);
      if (auth) socket.send(auth);
      else becomeReady();
    });
    socket.on('message', (data: WebSocket.RawData) => {
      alive();
      const frame = data.toString();
      for (const event of codec.decode(frame, Date.now())) {
        if (subscriber.closed) return;
        routeVendorEvent(event, frame, route);
      }
    });
    socket.on('ping', alive);
    socket.on('pong', alive);
    failWhenRefusedOrClosed(socket, subscriber);

    const watchdog = watchLiveness(socket, pacer, liveness, () => ready, subscriber);

    return () => {
      clearInterval(watchdog);
      pacer.close();
      demand?.unsubscribe();
      discard(socket);
    };
  });
}

function sendPaced(socket: WebSocket, pacer: FramePacer, frames: string[]): void {
  for (const frame of frames) pacer.send(() => socket.readyState === WebSocket.OPEN && socket.send(frame));
}

/** A refused upgrade, a socket error or close ends the session with why. */
function failWhenRefusedOrClosed(socket: WebSocket, subscriber: Subscriber<SessionOutput>): void {
  socket.on('unexpected-response', (_request, response) => {
    response.resume();
    subscriber.error(upgradeRefusal(response.statusCode ?? 0));
  });
  socket.on('error', (err) => subscriber.error(err));
  socket.on('close', (code) => subscriber.error(new Error(`connection closed (${code})`)));
}

/** Liveness: ping the server now and then (every server pongs) and give up on a silent connection. */
function watchLiveness(
  socket: WebSocket,
  pacer: FramePacer,
  liveness: Liveness,
  isReady: () => boolean,
  subscriber: Subscriber<SessionOutput>,
): ReturnType<typeof setInterval> {
  return setInterval(() => {
    const failure = liveness.failure(isReady());
    if (failure) subscriber.error(failure);
    else if (socket.readyState === WebSocket.OPEN && pacer.pending === 0)
      pacer.send(() => socket.readyState === WebSocket.OPEN && socket.ping());
  }, liveness.checkEveryMs);
}

/** Ends a socket nobody listens to any more. */
function discard(socket: WebSocket): void {
  socket.removeAllListeners();
  // terminate() on a connecting socket reports an error; nobody listens any more.
  socket.on('error', () => {});
  socket.terminate();
}

/** When one connection last heard from its upstream, and when that silence (or an unanswered auth) ends it. */
class Liveness {
  private lastTraffic = Date.now();
  private readonly openedAt = this.lastTraffic;

  constructor(private readonly timeoutMs: number) {}

  /** How often to check: at least every 2 s, so an idle but healthy upstream keeps the feed `live` (staleAfterMs is 5 s by default). */
  get checkEveryMs(): number {
    return Math.max(10, Math.min(2000, Math.floor(this.timeoutMs / 3)));
  }

  touch(): void {
    this.lastTraffic = Date.now();
  }

  /** Why to give up on the connection now, if it is time to. */
  failure(ready: boolean): Error | undefined {
    const silentMs = Date.now() - this.lastTraffic;
    if (silentMs > this.timeoutMs) return new Error(`no traffic for ${silentMs} ms`);
    if (!ready && Date.now() - this.openedAt > this.timeoutMs) return new Error('no answer to authentication');
    return undefined;
  }
}

/**
 * One connection's subscriptions following the demand, under the vendor's symbol limit. The demand as it last
 * was; one sync at a time waits in the pacer, so changes that come while it waits are sent together (forty quick
 * changes on Binance become a frame or two, not forty, 4 a second).
 */
class DemandSync {
  private readonly subscribed = new Set<string>();
  private readonly maxSymbols: number;
  private demanded: ReadonlySet<string> = new Set();
  private queued = false;
  /** The symbols last reported over the limit, joined: reported again only when they change. */
  private overLimit = '';

  constructor(
    private readonly socket: WebSocket,
    private readonly codec: VendorCodec,
    private readonly pacer: FramePacer,
    private readonly onEvent: WsFeedOptions['onEvent'],
  ) {
    this.maxSymbols = codec.limits?.maxSymbols ?? Number.POSITIVE_INFINITY;
  }

  follow(symbols: ReadonlySet<string>): void {
    this.demanded = symbols;
    this.queue();
  }

  private queue(): void {
    if (this.queued) return;
    this.queued = true;
    this.pacer.send(() => this.sync());
  }

  /** One (un)subscribe toward the demand, the frames of one pacer slot; another sync follows if more is due. */
  private sync(): void {
    this.queued = false;
    if (this.socket.readyState !== WebSocket.OPEN) return;
    const { subscribed, demanded } = this;
    const removed = [...subscribed].filter((s) => !demanded.has(s)).sort();
    if (removed.length) {
      for (const s of removed) subscribed.delete(s);
      this.write(this.codec.unsubscribe(removed));
      this.onEvent?.({ kind: 'unsubscribe', symbols: removed });
      if ([...demanded].some((s) => !subscribed.has(s))) this.queue();
      return;
    }
    // Those subscribed stay; new ones take the places left under the vendor's limit, in order.
    const fresh = [...demanded].filter((s) => !subscribed.has(s)).sort();
    const added = fresh.slice(0, Math.max(0, this.maxSymbols - subscribed.size));
    for (const s of added) subscribed.add(s);
    const refused = fresh.slice(added.length);
    if (refused.join() !== this.overLimit) {
      this.overLimit = refused.join();
      if (refused.length) this.onEvent?.({ kind: 'over_limit', symbols: refused, limit: this.maxSymbols });
    }
    if (added.length) {
      this.write(this.codec.subscribe(added));
      this.onEvent?.({ kind: 'subscribe', symbols: added });
    }
  }

  private write(frames: string[]): void {
    for (const frame of frames) this.socket.send(frame);
  }
}

type EventRoute = {
  subscriber: Subscriber<SessionOutput>;
  onEvent: WsFeedOptions['onEvent'];
  becomeReady: () => void;
};

/** Where one decoded vendor event goes: out of the session, into its events, or ending it. */
function routeVendorEvent(event: VendorEvent, frame: string, { subscriber, onEvent, becomeReady }: EventRoute): void {
  switch (event.kind) {
    case 'tick':
    case 'symbols':
    case 'correction':
    case 'cancel':
      subscriber.next(event);
      return;
    case 'closing':
      // Announced: reconnect now rather than wait for the cut.
      subscriber.error(new Error(`the server is closing the connection (${event.message})`));
      return;
    case 'authenticated':
      becomeReady();
      return;
    case 'auth_failed':
      subscriber.error(new WsFeedError({ kind: 'auth_failed', code: event.code, message: event.message }));
      return;
    case 'vendor_error':
      if (event.fatal) {
        subscriber.error(new WsFeedError({ kind: 'vendor_error', code: event.code, message: event.message }));
        return;
      }
      onEvent?.({ kind: 'vendor_error', code: event.code, message: event.message });
      return;
    case 'subscribed':
      onEvent?.({ kind: 'subscribed', symbols: event.symbols });
      return;
    case 'malformed':
      onEvent?.({ kind: 'malformed', reason: event.reason });
      subscriber.next({ kind: 'malformed', reason: event.reason, frame: frame.slice(0, MAX_REPORTED_CHARS) });
      return;
    case 'connected':
    case 'heartbeat':
      return;
  }
}

/** A refused upgrade: 401/403 is the vendor saying the token is wrong (Finnhub); anything else may pass. */
function upgradeRefusal(status: number): Error {
  return status === 401 || status === 403
    ? new WsFeedError({ kind: 'auth_failed', code: status, message: `HTTP ${status} at the upgrade` })
    : new Error(`upgrade refused with HTTP ${status}`);
}

/** The symbols a vendor's feed declares when its config names none: a few of its best-known listings. */
function defaultListings(config: WsFeedConfig): Listing[] {
  switch (config.format) {
    case 'coinbase':
    case 'binance':
    case 'kraken':
      return cryptoListings(config.format);
    case 'alpaca':
      return new URL(config.url).pathname.includes('/crypto') ? cryptoListings('alpaca') : listings();
    default:
      return listings();
  }
}

const NAMED: ReadonlyMap<string, Listing> = new Map(
  [...US_LISTINGS, ...(['coinbase', 'binance', 'kraken', 'alpaca'] as const).flatMap(cryptoListings)].map((l) => [
    l.symbol,
    l,
  ]),
);

/** A ws feed's events in its log: what an operator should see at info and warn, the rest at debug. */
function logFeedEvent(log: Logger | undefined, event: WsFeedEvent): void {
  switch (event.kind) {
    case 'ready':
      log?.info('WebSocket upstream ready');
      return;
    case 'reconnecting':
      log?.warn({ reason: event.reason, attempt: event.attempt, delayMs: event.delayMs }, 'WebSocket reconnecting');
      return;
    case 'vendor_error':
      log?.warn({ code: event.code, message: event.message }, 'vendor error');
      return;
    case 'malformed':
      log?.debug({ reason: event.reason }, 'malformed frame skipped');
      return;
    case 'over_limit':
      log?.warn(
        { limit: event.limit, symbols: event.symbols.length },
        'demanded symbols past the vendor limit of one connection are not subscribed',
      );
      return;
    default:
      log?.debug(event, 'WebSocket upstream');
  }
}

/**
 * The `ws` feed of the config: declares its symbols (with names where the built-in listings know them). With no
 * `symbols` in the config it declares a few well-known ones at once and then the vendor's own list, when the
 * vendor publishes one (Binance exchangeInfo and Coinbase /products over HTTP, Kraken's `instrument` channel).
 */
export function wsFeedFromConfig(config: WsFeedConfig, context: FeedContext): FeedSource {
  const log = context.logger?.child({ feed: config.id, format: config.format });
  const codec = vendorCodec(config.format);
  const symbols = config.symbols?.map(normalizeSymbol) ?? defaultListings(config).map((l) => l.symbol);
  const listed = config.symbols === undefined;
  const outputs$ = wsFeedOutputs({
    id: config.id,
    url: config.url,
    format: config.format,
    key: config.key,
    secret: config.secret,
    // Without a demand signal (an embedding without the gateway), follow the declared symbols.
    demand$: context.demand$,
    symbols,
    channels: config.channels,
    listSymbols: listed && codec.listFrames !== undefined,
    reconnect: config.reconnect,
    heartbeatTimeoutMs: config.heartbeatTimeoutMs,
    scheduler: context.scheduler,
    onEvent: (event) => logFeedEvent(log, event),
  }).pipe(share());
  const vendorListing = codec.symbolListing;
  return {
    id: config.id,
    // Liveness apart from quotes: with no demand there are no ticks, yet the upstream is fine.
    alive$: outputs$.pipe(aliveSignals()),
    symbols: symbols.map((symbol) => {
      const named = NAMED.get(symbol);
      return named ? { symbol, name: named.name, exchange: named.exchange, currency: named.currency } : { symbol };
    }),
    quotes$: outputs$.pipe(quoteValues()),
    symbols$: merge(
      outputs$.pipe(
        filter((output): output is Extract<WsFeedOutput, { kind: 'symbols' }> => output.kind === 'symbols'),
        map((output) => output.symbols),
        // The connection's failures are the quotes' to report (and the feed's status to show), not the listing's.
        catchError(() => EMPTY),
      ),
      listed && vendorListing
        ? fetchSymbolListing({
            url: config.symbolsUrl ?? vendorListing.url,
            decode: vendorListing.decode,
            scheduler: context.scheduler,
            onFailure: (reason, attempt) => log?.warn({ reason, attempt }, 'symbol listing failed'),
          })
        : EMPTY,
    ),
  };
}
