import { asyncScheduler, bufferTime, filter, map, type OperatorFunction, type SchedulerLike } from 'rxjs';
import type { Quote } from '../protocol.js';

/**
 * Batches quotes per window of `windowMs`, keeping only each symbol's newest: what the Redis last-value
 * cache needs (one write per symbol per window, however fast the feed). Empty windows emit nothing.
 */
export function latestBySymbol(
  windowMs: number,
  scheduler: SchedulerLike = asyncScheduler,
): OperatorFunction<Quote, Quote[]> {
  return (source) =>
    source.pipe(
      bufferTime(windowMs, scheduler),
      filter((batch) => batch.length > 0),
      map((batch) => [...new Map(batch.map((quote) => [quote.symbol, quote])).values()]),
    );
}
