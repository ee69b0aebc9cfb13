/**
 * What a replay reads from: a recording as records in pacing order, in batches, from any position. A tape
 * over a file answers with promises (it reads as it plays); a tape over records in memory answers at once,
 * which is what makes the pacing operator testable with marbles.
 */
export type MaybePromise<T> = T | Promise<T>;

export function isPromise<T>(value: MaybePromise<T>): value is Promise<T> {
  return value instanceof Promise;
}

/** Consecutive records and their pacing times (non-decreasing), in one array each. */
export type Batch<T> = { readonly records: readonly T[]; readonly times: readonly number[] };

/** Reads on from a position; `null` at the end. */
export interface Cursor<T> {
  next(): MaybePromise<Batch<T> | null>;
  close(): void;
}

/** Where a seek landed: the state to restate (each symbol's last record before), and a cursor after it. */
export type Seek<T> = { state: readonly T[]; cursor: Cursor<T> };

export interface Tape<T, S extends Seek<T> = Seek<T>> {
  /** Pacing times of the first and last records. */
  readonly first: number;
  readonly last: number;
  /**
   * The state at `position` and a cursor at the first record after it: records at `position` belong to the
   * state when `inclusive` (a seek), to the cursor when not (the start of a range).
   */
  seek(position: number, inclusive: boolean): MaybePromise<S>;
}

/** A batch from `from` on. */
export function batchFrom<T>(batch: Batch<T>, from: number): Batch<T> {
  return { records: batch.records.slice(from), times: batch.times.slice(from) };
}

/** First index of sorted `times` past `position` (inclusive: past it; else at or past it). */
export function indexAfter(times: readonly number[], position: number, inclusive: boolean): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const v = times[mid] as number;
    if (v < position || (inclusive && v === position)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
