import { TestScheduler } from 'rxjs/testing';
import { expect } from 'vitest';

/**
 * A TestScheduler to run real servers and clients on a virtual clock: hand `scheduler` to what is tested, then
 * `runTo(t)` runs what is due up to virtual time `t` (ms) and leaves the clock reading `t`. Real I/O happens
 * between calls: wait for it (`until`) before moving the clock on.
 */
export function virtualClock() {
  const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  return {
    scheduler,
    runTo(t: number): void {
      scheduler.schedule(() => {}, t - scheduler.now()); // so that the clock reads `t` after the flush
      scheduler.maxFrames = t;
      scheduler.flush();
    },
  };
}
