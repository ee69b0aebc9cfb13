import { asyncScheduler, Observable, type SchedulerAction, type SchedulerLike } from 'rxjs';

/**
 * Ticks 0, 1, 2... due at `periodMs`, 2 x `periodMs`... after subscription, by the scheduler's clock. Unlike
 * `interval` (Node's setInterval re-arms from when a late callback ran, so every late tick pushes all later
 * ones back), lateness does not accumulate: a clock split into lanes keeps each lane at its rate on a busy
 * server. Ticks that fell due while the event loop was blocked go out together when it frees up, at most
 * `maxCatchUp` of them (the newest): with one tick per lane in a cycle and `maxCatchUp` = lanes, every lane
 * gets its turn and none gets two. A wall clock stepped back moves the schedule with it rather than
 * silencing the clock until it catches up.
 */
export function steadyClock(
  periodMs: number,
  scheduler: SchedulerLike = asyncScheduler,
  maxCatchUp = 1,
): Observable<number> {
  return new Observable<number>((subscriber) => {
    let start = scheduler.now();
    let next = 0; // the next tick to emit
    return scheduler.schedule(function (this: SchedulerAction<undefined>) {
      const now = scheduler.now();
      if (now - start < next * periodMs) start = now - next * periodMs; // the clock went back
      const due = Math.floor((now - start) / periodMs); // ticks 0 .. due - 1 are due
      next = Math.max(next, due - maxCatchUp);
      while (next < due && !subscriber.closed) subscriber.next(next++);
      if (!subscriber.closed) this.schedule(undefined, start + (due + 1) * periodMs - scheduler.now());
    }, periodMs);
  });
}
