import type { SchedulerLike } from 'rxjs';
import { take } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { steadyClock } from '../../src/delivery/steadyClock.js';

const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

/**
 * The test scheduler's virtual time with a wall clock that can jump: `jump(ms)` at a virtual frame is an event
 * loop that was blocked for `ms` (forward) or a wall clock stepped back (negative). Actions still run at their
 * virtual frames; only `now()` moves.
 */
function jumpingClock(inner: TestScheduler) {
  let skew = 0;
  const clock: SchedulerLike = {
    now: () => inner.now() + skew,
    schedule: inner.schedule.bind(inner) as SchedulerLike['schedule'],
  };
  const jumpAt = (frame: number, ms: number) => {
    inner.schedule(() => {
      skew += ms;
    }, frame);
  };
  return { clock, jumpAt };
}

describe('steadyClock', () => {
  it('ticks 0, 1, 2... one period apart, the first one period after subscription', () => {
    scheduler().run(({ expectObservable }) => {
      expectObservable(steadyClock(10).pipe(take(4))).toBe('10ms a 9ms b 9ms c 9ms (d|)', { a: 0, b: 1, c: 2, d: 3 });
    });
  });

  it('counts from its own subscription', () => {
    scheduler().run(({ expectObservable }) => {
      const clock = steadyClock(10).pipe(take(2));
      expectObservable(clock, '5ms ^').toBe('15ms a 9ms (b|)', { a: 0, b: 1 });
    });
  });

  it('after a blocked loop, sends at most maxCatchUp of the ticks that fell due (the newest), then keeps the schedule', () => {
    // Blocked from 15 to 40 (wall clock): when the action at 20 runs the wall clock says 45, ticks 1-3 are due.
    const test = scheduler();
    test.run(({ expectObservable }) => {
      const { clock, jumpAt } = jumpingClock(test);
      jumpAt(15, 25);
      // Wall clock 45 at frame 20: ticks 1, 2, 3 due, only 3 goes; tick 4 is due at wall 50 = frame 25.
      expectObservable(steadyClock(10, clock, 1).pipe(take(4))).toBe('10ms a 9ms b 4ms c 9ms (d|)', {
        a: 0,
        b: 3,
        c: 4,
        d: 5,
      });
    });
    const two = scheduler();
    two.run(({ expectObservable }) => {
      const { clock, jumpAt } = jumpingClock(two);
      jumpAt(15, 25);
      expectObservable(steadyClock(10, clock, 2).pipe(take(4))).toBe('10ms a 9ms (bc) 1ms (d|)', {
        a: 0,
        b: 2,
        c: 3,
        d: 4,
      });
    });
  });

  it('moves its schedule with a wall clock stepped back instead of going silent until it catches up', () => {
    const test = scheduler();
    test.run(({ expectObservable }) => {
      const { clock, jumpAt } = jumpingClock(test);
      // Tick 0 at 10; at 15 the wall clock steps back 25 ms. Tick 1 then comes one period after the step
      // (wall -5 at frame 20 is taken as tick 1's start): frame 30, not at wall 20 = frame 45.
      jumpAt(15, -25);
      expectObservable(steadyClock(10, clock).pipe(take(3))).toBe('10ms a 19ms b 9ms (c|)', { a: 0, b: 1, c: 2 });
    });
  });

  it('a small step back (less than the ticks sent) also moves the schedule: the next tick a period after', () => {
    const test = scheduler();
    test.run(({ expectObservable }) => {
      const { clock, jumpAt } = jumpingClock(test);
      // Ticks 0-3 at 10-40; at 45 the wall clock steps back 15 ms, so at frame 50 it says 35, short of the 40
      // that tick 3 was sent at: tick 4 is then due one period after that, at frame 60 (wall 45).
      jumpAt(45, -15);
      expectObservable(steadyClock(10, clock).pipe(take(6))).toBe('10ms a 9ms b 9ms c 9ms d 19ms e 9ms (f|)', {
        a: 0,
        b: 1,
        c: 2,
        d: 3,
        e: 4,
        f: 5,
      });
    });
  });

  it('stops scheduling when unsubscribed', () => {
    const test = scheduler();
    let ticks = 0;
    const subscription = steadyClock(10, test).subscribe(() => ticks++);
    test.schedule(() => subscription.unsubscribe(), 35);
    // Without the unsubscribe taking, the flush would run to its last frame (750) at a tick every 10.
    test.flush();
    expect(ticks).toBe(3);
    expect(test.now()).toBe(35);
  });
});
