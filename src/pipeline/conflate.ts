import { asyncScheduler, type MonoTypeOperatorFunction, type SchedulerLike, throttleTime } from 'rxjs';

/**
 * Latest-value conflation at `hz`: the first value passes at once (leading edge), then at most one value
 * per interval, always the newest seen in it (trailing edge). Never above the rate, never a stale value.
 */
export function conflate<T>(hz: number, scheduler: SchedulerLike = asyncScheduler): MonoTypeOperatorFunction<T> {
  return throttleTime(1000 / hz, scheduler, { leading: true, trailing: true });
}
