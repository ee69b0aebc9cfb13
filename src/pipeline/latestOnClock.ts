import { defer, filter, map, type OperatorFunction, tap } from 'rxjs';

/**
 * Latest-value conflation on a shared clock, reading a cell instead of subscribing to the values: at each
 * tick, what `read()` returns, if it is a new value since the previous tick (or since subscription);
 * nothing otherwise. The newest value goes out once, within one tick, never above the clock's rate. Values
 * are told apart by identity (each tick is a new object).
 *
 * Why a cell: a tier split into lanes has one stream per symbol and lane. Subscribing each of them to the
 * symbol's values would cost a write per value per lane; here a value costs one write into the cell
 * (`ConflatedStreams.connect`) and each lane one read per tick.
 */
export function latestOnClock<T>(read: () => T | undefined): OperatorFunction<unknown, T> {
  return (clock$) =>
    defer(() => {
      let last = read(); // what was there before subscription is not news
      return clock$.pipe(
        map(read),
        filter((value): value is T => value !== undefined && value !== last),
        tap((value) => {
          last = value;
        }),
      );
    });
}
