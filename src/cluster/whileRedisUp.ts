import { catchError, EMPTY, exhaustMap, from, type OperatorFunction } from 'rxjs';
import { PERIODIC_DEADLINE_MS, type RedisLink, withTimeout } from './redisLink.js';

/**
 * At each trigger, one periodic command (`request`; `undefined` when there is nothing to do): not while Redis is
 * down, nor while the last one still runs, and given up after PERIODIC_DEADLINE_MS so a stalled Redis does not
 * hold up the ones after it. Emits each result; a failure goes to `onFailure` and the next trigger tries again.
 */
export function whileRedisUp<T>(
  link: RedisLink,
  what: string,
  request: () => Promise<T> | undefined,
  onFailure: (err: unknown) => void = () => {},
): OperatorFunction<unknown, T> {
  return exhaustMap(() => {
    const pending = link.isUp() ? request() : undefined;
    if (!pending) return EMPTY;
    return from(withTimeout(pending, PERIODIC_DEADLINE_MS, what)).pipe(
      catchError((err: unknown) => {
        onFailure(err);
        return EMPTY;
      }),
    );
  });
}
