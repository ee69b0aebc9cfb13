import { asyncScheduler, defer, filter, type MonoTypeOperatorFunction, type SchedulerLike } from 'rxjs';

/** How far ahead of the clock a passed quote's `ts` may be and still be the time later quotes must not be older than. */
const FUTURE_TOLERANCE_MS = 60_000;

/**
 * Whether a quote at `ts` is older than the last one passed for its symbol (at `lastTs`; none: never), the clock
 * reading `now`. One passed from more than a minute ahead of the clock is a wrong clock (or unit), not the time
 * to beat: held to it, the symbol would freeze until the clock caught up.
 */
export function olderThanPassed(lastTs: number | undefined, ts: number, now: number): boolean {
  return lastTs !== undefined && ts < lastTs && lastTs <= now + FUTURE_TOLERANCE_MS;
}

/**
 * A feed's quotes in time order per symbol: one older than the last passed for its symbol is dropped (a late
 * trade report must not set the price back). The rule mergeByPriority keeps across feeds, for a feed alone.
 */
export function inTimeOrder<T extends { symbol: string; ts: number }>(
  scheduler: SchedulerLike = asyncScheduler,
): MonoTypeOperatorFunction<T> {
  return (source) =>
    defer(() => {
      const lastTs = new Map<string, number>();
      return source.pipe(
        filter((quote) => {
          const last = lastTs.get(quote.symbol);
          // The clock is read only for a quote that is older: this runs for every tick.
          if (last !== undefined && quote.ts < last && olderThanPassed(last, quote.ts, scheduler.now())) return false;
          lastTs.set(quote.symbol, quote.ts);
          return true;
        }),
      );
    });
}
