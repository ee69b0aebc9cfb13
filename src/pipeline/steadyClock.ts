import { asyncScheduler, Observable, type SchedulerAction, type SchedulerLike } from 'rxjs';

/**
 * Ticks 0, 1, 2... due at `periodMs`, 2 x `periodMs`... after subscription, by the scheduler's clock. Unlike
 * `interval` (Node's setInterval re-arms from when a late callback ran, so every late tick pushes all later
 * ones back), lateness does not accumulate: a clock split into lanes keeps each lane at its rate on a busy
 * server. A wake that finds several ticks due emits only the newest: under overload a lane skips a turn
 * rather than two turns going out back to back.
 */
export function steadyClock(periodMs: number, scheduler: SchedulerLike = asyncScheduler): Observable<number> {
  return new Observable<number>((subscriber) => {
    const start = scheduler.now();
    let next = 0;
    return scheduler.schedule(function (this: SchedulerAction<undefined>) {
      const due = Math.floor((scheduler.now() - start) / periodMs);
      if (due > next) {
        next = due;
        subscriber.next(due - 1);
      }
      if (!subscriber.closed) this.schedule(undefined, start + (due + 1) * periodMs - scheduler.now());
    }, periodMs);
  });
}
