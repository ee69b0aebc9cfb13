import { concat, defer, type Observable, of, Subject } from 'rxjs';
import { TickstreamError } from './errors.js';
import type { Quote, Rejection } from './protocol.js';
import { QuoteOrder } from './quoteOrder.js';
import type { StreamPosition, SubscribeAck, SubscribeRequest, UnsubscribeRequest } from './wire.js';

/** What the registry needs from the connection: send a request, hear its answer (or an Error for no answer). */
export type SubscriptionChannel = {
  subscribe(request: SubscribeRequest, done: (answer: SubscribeAck | Error) => void): void;
  unsubscribe(request: UnsubscribeRequest): void;
};

/** How the server answered for one symbol of a watch. */
export type SymbolOutcome =
  | { kind: 'accepted'; symbol: string; quotes$: Observable<Quote> }
  | { kind: 'rejected'; rejection: Rejection }
  | { kind: 'failed'; error: TickstreamError }
  | { kind: 'closed' };

export type Lease = { readonly ready: Promise<SymbolOutcome[]>; release(): void };

/** How the stream of an accepted symbol ends when the server refuses it later (after a reconnect). */
export class SymbolRefused extends Error {
  constructor(readonly rejection: Rejection) {
    super(`${rejection.symbol}: ${rejection.message}`);
  }
}

// Small requests stay under any server's per-request symbol limit (500 by default).
const SYMBOLS_PER_REQUEST = 100;

/** One symbol's shared server subscription: who wants it at what rate, and its newest quote. */
class SymbolEntry {
  private readonly rates: (number | undefined)[] = [];
  private readonly order = new QuoteOrder();
  private readonly updates = new Subject<Quote>();
  private last: Quote | undefined;
  /** The rate the server sends this symbol at (its subscribe ack's `hz`): above the rate asked when under its tiers. */
  private servedHz: number | undefined;
  private readonly resolve: (outcome: SymbolOutcome) => void;
  settled = false;
  readonly ready: Promise<SymbolOutcome>;
  /** The newest quote (the snapshot) first, then every newer one. */
  readonly quotes$: Observable<Quote> = defer(() => (this.last ? concat(of(this.last), this.updates) : this.updates));

  constructor(readonly symbol: string) {
    // The executor runs at once, so resolve is the promise's before the constructor returns.
    let resolve = (_outcome: SymbolOutcome) => {};
    this.ready = new Promise<SymbolOutcome>((settle) => {
      resolve = settle;
    });
    this.resolve = resolve;
  }

  get refs(): number {
    return this.rates.length;
  }

  /** Where this watcher is in the symbol's stream: the newest quote's [epoch, seq], once it has one. */
  get position(): StreamPosition | undefined {
    return this.last?.epoch === undefined ? undefined : [this.last.epoch, this.last.seq];
  }

  /** The rate to ask the server for: the fastest watcher's; none (the server's default) when no watcher set one. */
  get wantedHz(): number | undefined {
    const set = this.rates.filter((hz): hz is number => hz !== undefined);
    return set.length ? Math.max(...set) : undefined;
  }

  /**
   * Whether the server may send this symbol faster than `hz`: some watcher asked for more, or for the default,
   * or the server serves it faster than asked (its lowest tier is above `hz`: 0.5 Hz is served at 1).
   */
  mayExceed(hz: number): boolean {
    return (
      (this.servedHz !== undefined && this.servedHz > hz) || this.rates.some((rate) => rate === undefined || rate > hz)
    );
  }

  served(hz: number): void {
    this.servedHz = hz;
  }

  add(hz: number | undefined): void {
    this.rates.push(hz);
  }

  remove(hz: number | undefined): void {
    const at = this.rates.indexOf(hz);
    if (at >= 0) this.rates.splice(at, 1);
  }

  offer(quote: Quote, connection: number): void {
    if (!this.order.accept(quote, connection)) return;
    this.last = quote;
    this.updates.next(quote);
  }

  settle(outcome: SymbolOutcome): void {
    this.settled = true;
    this.resolve(outcome);
  }

  /** Ends this entry: settles waiting watchers with `outcome`, ends the live stream of the others. */
  end(outcome: SymbolOutcome): void {
    if (!this.settled) this.settle(outcome);
    if (outcome.kind === 'failed') this.updates.error(outcome.error);
    // Refused once running (after a reconnect): each watch decides whether it goes on with its other symbols.
    else if (outcome.kind === 'rejected') this.updates.error(new SymbolRefused(outcome.rejection));
    else this.updates.complete();
  }
}

/**
 * Reference-counted server subscriptions, one per symbol whatever the number of watchers. It reconciles what
 * the watchers want with what was asked of the server (batched per microtask, so a watch of 50 symbols is
 * one request), and asks again for everything after each (re)connection, which brings fresh snapshots.
 */
export class SymbolSubscriptions {
  private readonly entries = new Map<string, SymbolEntry>();
  /** Symbol -> what was asked of the server on this connection, for which entry (maxHz undefined: its default). */
  private readonly requested = new Map<string, { hz: number | undefined; entry: SymbolEntry }>();
  private readonly dirty = new Set<string>();
  private connection = 0;
  private online = false;
  private flushQueued = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private ended: SymbolOutcome | undefined;

  constructor(
    private readonly channel: SubscriptionChannel,
    private readonly onRejected: (rejection: Rejection) => void,
    private readonly retryMs = 1000,
  ) {}

  /** Whether quotes of `symbol` may arrive faster than `hz` (so a watcher at `hz` must conflate them itself). */
  mayExceed(symbol: string, hz: number): boolean {
    return this.entries.get(symbol)?.mayExceed(hz) ?? true;
  }

  /** Takes a reference on each symbol (upper-case, distinct); release it when the watcher goes. */
  acquire(symbols: readonly string[], hz: number | undefined): Lease {
    const ended = this.ended;
    if (ended) return { ready: Promise.resolve(symbols.map(() => ended)), release: () => {} };
    const held = symbols.map((symbol) => {
      let entry = this.entries.get(symbol);
      if (!entry) {
        entry = new SymbolEntry(symbol);
        this.entries.set(symbol, entry);
      }
      entry.add(hz);
      this.dirty.add(symbol);
      return entry;
    });
    this.queueFlush();
    let released = false;
    return {
      ready: Promise.all(held.map((entry) => entry.ready)),
      release: () => {
        if (released) return;
        released = true;
        for (const entry of held) this.release(entry, hz);
      },
    };
  }

  /** The connection (number `connection`) is up: ask for every symbol again. */
  connected(connection: number): void {
    this.connection = connection;
    this.online = true;
    this.requested.clear();
    for (const symbol of this.entries.keys()) this.dirty.add(symbol);
    this.flush();
  }

  disconnected(): void {
    this.online = false;
  }

  receive(quotes: readonly Quote[]): void {
    for (const quote of quotes) this.entries.get(quote.symbol)?.offer(quote, this.connection);
  }

  /** No more subscriptions: the client closed (`closed`) or cannot go on (`failed`). */
  end(outcome: SymbolOutcome): void {
    this.ended ??= outcome;
    clearTimeout(this.retryTimer);
    for (const entry of this.entries.values()) entry.end(outcome);
    this.entries.clear();
    this.requested.clear();
    this.dirty.clear();
  }

  private release(entry: SymbolEntry, hz: number | undefined): void {
    if (this.entries.get(entry.symbol) !== entry) return;
    entry.remove(hz);
    // An entry left without watchers goes at the next flush, so a watch replaced by another in the same tick
    // (switchMap over a watchlist) keeps the server subscription and its last quote.
    this.dirty.add(entry.symbol);
    this.queueFlush();
  }

  private queueFlush(): void {
    if (this.flushQueued || this.ended) return;
    this.flushQueued = true;
    queueMicrotask(() => this.flush());
  }

  private flush(): void {
    this.flushQueued = false;
    if (this.ended) return;
    for (const symbol of this.dirty) {
      const entry = this.entries.get(symbol);
      if (entry?.refs !== 0) continue;
      this.entries.delete(symbol);
      entry.end({ kind: 'closed' });
    }
    if (!this.online) return;
    const subscribe = new Map<number | undefined, string[]>();
    const unsubscribe: string[] = [];
    for (const symbol of this.dirty) {
      const entry = this.entries.get(symbol);
      if (entry) {
        const hz = entry.wantedHz;
        const asked = this.requested.get(symbol);
        // A new entry for a symbol just released and taken again still needs its own answer (its snapshot).
        if (asked && asked.hz === hz && asked.entry === entry) continue;
        this.requested.set(symbol, { hz, entry });
        subscribe.set(hz, [...(subscribe.get(hz) ?? []), symbol]);
      } else if (this.requested.delete(symbol)) {
        unsubscribe.push(symbol);
      }
    }
    this.dirty.clear();
    for (const symbols of chunks(unsubscribe)) this.channel.unsubscribe({ symbols });
    for (const [hz, all] of subscribe) {
      for (const symbols of chunks(all)) {
        const connection = this.connection;
        const request: SubscribeRequest = hz === undefined ? { symbols } : { symbols, maxHz: hz };
        // Resume: the snapshot then brings only what changed since (on this server or another).
        const resume = resumePositions(symbols, this.entries);
        if (resume) request.resume = resume;
        this.channel.subscribe(request, (answer) => this.answered(connection, symbols, answer));
      }
    }
  }

  private answered(connection: number, symbols: string[], answer: SubscribeAck | Error): void {
    // An answer from an earlier connection is moot: reconnecting asked for everything again.
    if (connection !== this.connection || this.ended) return;
    if (answer instanceof Error) {
      if (this.online) this.retry(symbols);
      return;
    }
    if (!answer.ok) {
      const error = new TickstreamError(answer.error.code, answer.error.message);
      // A new watch fails with the server's reason; watchers already running keep going and we ask again.
      const running = symbols.filter((symbol) => {
        const entry = this.entries.get(symbol);
        if (!entry || entry.settled) return true;
        this.entries.delete(symbol);
        this.requested.delete(symbol);
        entry.end({ kind: 'failed', error });
        return false;
      });
      this.retry(running);
      return;
    }
    const rejected = new Map(answer.rejected.map((rejection) => [rejection.symbol, rejection]));
    const snapshot = new Map(answer.snapshot.map((quote) => [quote.symbol, quote]));
    for (const symbol of symbols) {
      const entry = this.entries.get(symbol);
      const rejection = rejected.get(symbol);
      if (rejection) {
        this.requested.delete(symbol);
        if (!entry) continue;
        this.entries.delete(symbol);
        // A watch learns of its own rejections when it starts; later ones (after a reconnect) are news.
        if (entry.settled) this.onRejected(rejection);
        entry.end({ kind: 'rejected', rejection });
        continue;
      }
      if (!entry) continue;
      entry.served(answer.hz);
      const quote = snapshot.get(symbol);
      if (quote) entry.offer(quote, connection);
      if (!entry.settled) entry.settle({ kind: 'accepted', symbol, quotes$: entry.quotes$ });
    }
  }

  private retry(symbols: readonly string[]): void {
    const live = symbols.filter((symbol) => this.entries.has(symbol));
    if (!live.length) return;
    for (const symbol of live) {
      this.requested.delete(symbol);
      this.dirty.add(symbol);
    }
    this.retryTimer ??= setTimeout(() => {
      this.retryTimer = undefined;
      this.flush();
    }, this.retryMs);
  }
}

function resumePositions(
  symbols: readonly string[],
  entries: ReadonlyMap<string, SymbolEntry>,
): Record<string, StreamPosition> | undefined {
  const known: [string, StreamPosition][] = [];
  for (const symbol of symbols) {
    const position = entries.get(symbol)?.position;
    if (position) known.push([symbol, position]);
  }
  return known.length ? Object.fromEntries(known) : undefined;
}

function* chunks(symbols: readonly string[]): Generator<string[]> {
  for (let i = 0; i < symbols.length; i += SYMBOLS_PER_REQUEST) yield symbols.slice(i, i + SYMBOLS_PER_REQUEST);
}
