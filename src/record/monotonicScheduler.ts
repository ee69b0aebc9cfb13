import { asyncScheduler, type SchedulerAction, type SchedulerLike, type Subscription } from 'rxjs';

/**
 * asyncScheduler with a monotonic `now()` (the performance clock from the process's time origin): a step of the
 * wall clock (NTP, a VM resumed or slowed) moves `Date.now()` but not this, so a paced record is neither early
 * nor late for it. Delays are setTimeout's, monotonic already.
 */
class MonotonicScheduler implements SchedulerLike {
  now(): number {
    return performance.timeOrigin + performance.now();
  }

  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay?: number, state?: T): Subscription {
    return asyncScheduler.schedule(work, delay, state);
  }
}

export const monotonicScheduler: SchedulerLike = new MonotonicScheduler();
