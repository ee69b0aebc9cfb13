import { defer, map, type Observable, type OperatorFunction } from 'rxjs';

/**
 * Gives each value a per-symbol `seq`, strictly increasing from `start` (by default 1). Each subscription
 * counts on its own.
 */
export function assignSeq<T extends { symbol: string }>(start = 1): OperatorFunction<T, T & { seq: number }> {
  return (source: Observable<T>) =>
    defer(() => {
      const next = new Map<string, number>();
      return source.pipe(
        map((value) => {
          const seq = next.get(value.symbol) ?? start;
          next.set(value.symbol, seq + 1);
          return { ...value, seq };
        }),
      );
    });
}
