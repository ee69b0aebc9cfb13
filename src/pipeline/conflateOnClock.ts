import { type MonoTypeOperatorFunction, Observable } from 'rxjs';

/**
 * Latest-value conflation on a shared clock: at each tick of `clock$`, the newest value seen since the last
 * tick (nothing when none came). With one clock per rate tier, every symbol of the tier falls due on the same
 * tick, so delivery can send each socket one frame per interval. Never above the clock's rate, and the newest
 * value goes out within one tick, even when the source completes first (unlike RxJS `sample`, which drops
 * it). Unlike `conflate` there is no leading edge: a first value waits for the tick.
 */
export function conflateOnClock<T>(clock$: Observable<unknown>): MonoTypeOperatorFunction<T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      let pending: { value: T } | undefined;
      let sourceDone = false;
      const ticks = clock$.subscribe({
        next: () => {
          if (pending) {
            const { value } = pending;
            pending = undefined;
            subscriber.next(value);
          }
          if (sourceDone) subscriber.complete();
        },
        error: (err: unknown) => subscriber.error(err),
      });
      ticks.add(
        source.subscribe({
          next: (value) => {
            pending = { value };
          },
          error: (err: unknown) => subscriber.error(err),
          complete: () => {
            sourceDone = true;
            if (!pending) subscriber.complete();
          },
        }),
      );
      return ticks;
    });
}
