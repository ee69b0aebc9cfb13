import { indexAfter, type Tape } from '../../src/record/tape.js';

/**
 * A tape over records in memory: `times` are the records' pacing times, `stateBefore(i)` the state
 * a seek restates when it lands before record i.
 */
export function arrayTape<T>(
  records: readonly T[],
  times: readonly number[],
  options: { stateBefore?: (index: number) => T[]; batch?: number } = {},
): Tape<T> {
  const n = Math.min(records.length, times.length);
  const size = options.batch ?? 1000;
  return {
    first: n ? (times[0] as number) : 0,
    last: n ? (times[n - 1] as number) : 0,
    seek(position, inclusive) {
      let at = Math.min(n, indexAfter(times, position, inclusive));
      return {
        state: at > 0 ? (options.stateBefore?.(at) ?? []) : [],
        cursor: {
          next() {
            if (at >= n) return null;
            const end = Math.min(n, at + size);
            const batch = { records: records.slice(at, end), times: times.slice(at, end) };
            at = end;
            return batch;
          },
          close() {
            at = n;
          },
        },
      };
    },
  };
}
