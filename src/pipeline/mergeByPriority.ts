import { asyncScheduler, concat, defer, filter, map, merge, type Observable, of, type SchedulerLike } from 'rxjs';
import { olderThanPassed } from './inTimeOrder.js';

export type PriorityOptions = {
  /** Feed ids in order of preference per symbol; `'*'` is the order for symbols not named. */
  priority: Readonly<Record<string, readonly string[]>>;
  /** A feed that has not ticked a symbol for longer than this no longer outranks the next one for it. */
  staleAfterMs: number;
  scheduler?: SchedulerLike;
};

type Ranked = { symbol: string; ts: number };
type FeedEvent<T> = { kind: 'quote'; feed: string; quote: T } | { kind: 'ended'; feed: string };

/**
 * Merges several feeds of the same symbols into one, per symbol by priority: a quote passes only if no feed
 * ranked above its own has ticked that symbol within `staleAfterMs`, so the backup takes over when the
 * primary falls silent and hands back as soon as the primary ticks again. A feed that completes stops
 * outranking at once. A quote older than the last one passed for its symbol never passes, nor one with the
 * same `ts` from another feed (the same trade seen twice), unless that last one was more than a minute ahead of
 * the clock (a feed's wrong clock must not freeze the symbol). Feeds the priority lists leave out rank after the
 * listed ones, in the given order.
 */
export function mergeByPriority<T extends Ranked>(
  feeds: readonly { id: string; quotes$: Observable<T> }[],
  options: PriorityOptions,
): Observable<T> {
  const scheduler = options.scheduler ?? asyncScheduler;
  return defer(() => {
    const arbiter = new PriorityArbiter(
      feeds.map((f) => f.id),
      options,
    );
    const events = feeds.map(({ id, quotes$ }) =>
      concat(
        quotes$.pipe(map((quote): FeedEvent<T> => ({ kind: 'quote', feed: id, quote }))),
        of<FeedEvent<T>>({ kind: 'ended', feed: id }),
      ),
    );
    return merge(...events).pipe(
      filter((event): event is Extract<FeedEvent<T>, { kind: 'quote' }> => {
        if (event.kind === 'ended') {
          arbiter.ended(event.feed);
          return false;
        }
        return arbiter.accept(event.feed, event.quote, scheduler.now());
      }),
      map((event) => event.quote),
    );
  });
}

/** The per-symbol state of mergeByPriority: when each feed last ticked each symbol, what was passed last. */
class PriorityArbiter {
  private readonly orders = new Map<string, readonly string[]>();
  private readonly lastTick = new Map<string, Map<string, number>>();
  private readonly lastPassed = new Map<string, { ts: number; feed: string }>();
  private readonly finished = new Set<string>();

  constructor(
    private readonly feedIds: readonly string[],
    private readonly options: PriorityOptions,
  ) {}

  accept(feed: string, quote: Ranked, now: number): boolean {
    const { symbol, ts } = quote;
    let ticks = this.lastTick.get(symbol);
    if (!ticks) {
      ticks = new Map();
      this.lastTick.set(symbol, ticks);
    }
    ticks.set(feed, now);
    for (const id of this.order(symbol)) {
      if (id === feed) break;
      const at = ticks.get(id);
      if (at !== undefined && now - at <= this.options.staleAfterMs && !this.finished.has(id)) return false;
    }
    const last = this.lastPassed.get(symbol);
    if (last && (olderThanPassed(last.ts, ts, now) || (ts === last.ts && feed !== last.feed))) return false;
    this.lastPassed.set(symbol, { ts, feed });
    return true;
  }

  ended(feed: string): void {
    this.finished.add(feed);
  }

  private order(symbol: string): readonly string[] {
    let order = this.orders.get(symbol);
    if (!order) {
      const listed = (this.options.priority[symbol] ?? this.options.priority['*'] ?? []).filter((id) =>
        this.feedIds.includes(id),
      );
      order = [...new Set([...listed, ...this.feedIds])];
      this.orders.set(symbol, order);
    }
    return order;
  }
}
