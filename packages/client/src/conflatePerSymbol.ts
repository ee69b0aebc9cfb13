import {
  asyncScheduler,
  EMPTY,
  groupBy,
  type MonoTypeOperatorFunction,
  mergeMap,
  type SchedulerLike,
  throttle,
  timer,
} from 'rxjs';
import type { Quote } from './protocol.js';

/**
 * Client-side latest-value conflation, per symbol, at `hz`: a watcher slower than the rate the shared server
 * subscription runs at (a faster watcher of the same symbol, or a server whose lowest tier is faster) gets at
 * most `hz` quotes per symbol per second: the first at once, then the newest at the end of each window.
 */
export function conflatePerSymbol(
  hz: number,
  scheduler: SchedulerLike = asyncScheduler,
  /** Asked at each quote that opens a window: false lets quotes of that symbol through unthrottled. */
  needed: (symbol: string) => boolean = () => true,
): MonoTypeOperatorFunction<Quote> {
  const intervalMs = 1000 / hz;
  return (source) =>
    source.pipe(
      groupBy((quote) => quote.symbol),
      mergeMap((symbol$) =>
        symbol$.pipe(
          throttle((quote) => (needed(quote.symbol) ? timer(intervalMs, scheduler) : EMPTY), {
            leading: true,
            trailing: true,
          }),
        ),
      ),
    );
}
