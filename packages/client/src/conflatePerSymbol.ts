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
 * Client-side latest-value conflation, per symbol, at `hz`: a watcher slower than the rate the shared
 * server subscription runs at gets at most `hz` quotes per symbol per second, always the newest (leading
 * and trailing edges, as the server's own conflation). Written here rather than reusing the server's
 * operator so the SDK depends on nothing but rxjs, socket.io-client and the protocol types.
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
