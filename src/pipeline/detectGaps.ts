import { defer, type MonoTypeOperatorFunction, type Observable, tap } from 'rxjs';

/** How a vendor numbers its messages: one sequence per symbol, or one for the whole feed. */
export type GapScope = 'symbol' | 'feed';

export type UpstreamGap = {
  scope: GapScope;
  /** The symbol of the quote after the gap. */
  symbol: string;
  expected: number;
  received: number;
  missing: number;
};

/**
 * Reports jumps in `upstreamSeq` (per symbol, or per feed) to `onGap`; values pass unchanged. A sequence
 * that goes back is taken as the upstream restarting its numbering (a reconnect to a new session), not as
 * a gap. Values without `upstreamSeq` are not checked.
 */
export function detectGaps<T extends { symbol: string; upstreamSeq?: number }>(
  onGap: (gap: UpstreamGap) => void,
  scope: GapScope = 'symbol',
): MonoTypeOperatorFunction<T> {
  return (source: Observable<T>) =>
    defer(() => {
      const last = new Map<string, number>();
      return source.pipe(
        tap((value) => {
          const seq = value.upstreamSeq;
          if (seq === undefined) return;
          const key = scope === 'feed' ? '' : value.symbol;
          const previous = last.get(key);
          last.set(key, seq);
          if (previous !== undefined && seq > previous + 1) {
            onGap({ scope, symbol: value.symbol, expected: previous + 1, received: seq, missing: seq - previous - 1 });
          }
        }),
      );
    });
}
