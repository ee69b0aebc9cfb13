import fc from 'fast-check';
import { interval, map, merge, type Observable, share, timer } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { ConflatedStreams, laneOf } from '../../src/pipeline/conflatedStreams.js';
import { latestOnClock } from '../../src/pipeline/latestOnClock.js';
import { steadyClock } from '../../src/pipeline/steadyClock.js';
import type { Quote } from '../../src/protocol.js';

const marbles = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

/** A cell written by `values$` (as ConflatedStreams.connect writes the newest quote of each symbol). */
function cellOf<T>(values$: Observable<T>): { read: () => T | undefined } {
  let value: T | undefined;
  values$.subscribe((v) => {
    value = v;
  });
  return { read: () => value };
}

describe('latestOnClock', () => {
  it('emits the newest value at each tick, nothing when no value came', () => {
    marbles().run(({ hot, expectObservable }) => {
      const clock = hot('  ---------t---------t---------t---------t');
      const cell = cellOf(hot('-a-b-c----------------d-e---------'));
      expectObservable(clock.pipe(latestOnClock(cell.read))).toBe('---------c-------------------e---------');
    });
  });

  it('does not count what was in the cell before subscription as news', () => {
    marbles().run(({ hot, expectObservable }) => {
      const cell = cellOf(hot('a-------b'));
      const clock = hot('    ---t---t---t');
      expectObservable(clock.pipe(latestOnClock(cell.read)), '--^').toBe('-----------b');
    });
  });

  it('puts every symbol of a tier on the same tick (one frame per socket per interval)', () => {
    const scheduler = new TestScheduler((a, e) => expect(a).toEqual(e));
    scheduler.run(({ cold, expectObservable }) => {
      const streams = new ConflatedStreams(scheduler, 'clock');
      const q = (symbol: string, price: number): Quote => ({ symbol, price, ts: 0, seq: price });
      const feed = cold('a-b--c-d 100ms |', { a: q('A', 1), b: q('B', 1), c: q('A', 2), d: q('B', 2) });
      const sub = streams.connect(feed);
      // 100 Hz: a tick every 10 ms from subscription; both symbols fall due at 10 ms.
      const both = merge(streams.stream('A', 100), streams.stream('B', 100)).pipe(map((x) => `${x.symbol}${x.price}`));
      expectObservable(both, '^ 30ms !').toBe('10ms (xy)', { x: 'A2', y: 'B2' });
      scheduler.schedule(() => sub.unsubscribe(), 40);
    });
  });

  it('spreads a tier over evenly spaced lanes, each at the tier rate, on one shared fast clock', () => {
    const scheduler = new TestScheduler((a, e) => expect(a).toEqual(e));
    scheduler.run(({ cold, expectObservable }) => {
      const streams = new ConflatedStreams(scheduler, 'clock', 2);
      expect(streams.lanesOf(100)).toBe(2);
      const q = (price: number): Quote => ({ symbol: 'A', price, ts: 0, seq: price });
      const feed = cold('1ms a 5ms b 6ms c 100ms |', { a: q(1), b: q(2), c: q(3) });
      const sub = streams.connect(feed);
      // 100 Hz in 2 lanes: the fast clock ticks every 5 ms; lane 0 on its 1st, 3rd... tick, lane 1 on the 2nd, 4th...
      const price = map((x: Quote) => x.price);
      expectObservable(streams.stream('A', 100, 0).pipe(price), '^ 40ms !').toBe('5ms a 9ms c', { a: 1, c: 3 });
      expectObservable(streams.stream('A', 100, 1).pipe(price), '^ 40ms !').toBe('10ms b 9ms c', { b: 2, c: 3 });
      scheduler.schedule(() => sub.unsubscribe(), 50);
    });
  });

  it('keeps lanes at least 5 ms apart, and has none in throttle mode', () => {
    expect(new ConflatedStreams(undefined, 'clock', 10).lanesOf(4)).toBe(10);
    expect(new ConflatedStreams(undefined, 'clock', 10).lanesOf(100)).toBe(2);
    expect(new ConflatedStreams(undefined, 'clock', 10).lanesOf(1000)).toBe(1);
    expect(new ConflatedStreams(undefined, 'throttle', 10).lanesOf(4)).toBe(1);
  });

  it('puts any socket id in one lane, the same every time, and spreads ids evenly', () => {
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 1, max: 64 }), (id, lanes) => {
        const lane = laneOf(id, lanes);
        expect(Number.isInteger(lane) && lane >= 0 && lane < lanes).toBe(true);
        expect(laneOf(id, lanes)).toBe(lane);
      }),
    );
    const counts = new Array<number>(10).fill(0);
    const ids = fc.sample(fc.base64String({ minLength: 20, maxLength: 20 }), { numRuns: 10_000, seed: 7 });
    for (const id of ids) counts[laneOf(id, 10)]! += 1;
    for (const count of counts) expect(count).toBeGreaterThan(800); // 1,000 each if even
  });

  it('for any arrivals: at most one value per tick, and the newest always goes out at the next tick', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 1, maxLength: 50 }), (gaps) => {
        const out: { t: number; v: number }[] = [];
        const scheduler = new TestScheduler(() => undefined);
        let last = 0;
        scheduler.run(({ flush }) => {
          const clock = interval(10, scheduler).pipe(share());
          let at = 0;
          const arrivals = gaps.map((gap, i) => {
            at += gap;
            return timer(at, scheduler).pipe(map(() => i));
          });
          last = at;
          const cell = cellOf(merge(...arrivals));
          const sub = clock.pipe(latestOnClock(cell.read)).subscribe((v) => out.push({ t: scheduler.now(), v }));
          scheduler.schedule(() => sub.unsubscribe(), at + 50);
          flush();
        });
        for (let i = 1; i < out.length; i++) expect(out[i]!.t - out[i - 1]!.t).toBeGreaterThanOrEqual(10);
        expect(out.at(-1)?.v).toBe(gaps.length - 1);
        expect(out.at(-1)!.t - last).toBeLessThanOrEqual(10);
      }),
      { numRuns: 300 },
    );
  });
});

describe('steadyClock', () => {
  it('ticks every period, like interval, when nothing is late', () => {
    marbles().run(({ expectObservable }) => {
      expectObservable(steadyClock(10), '^ 35ms !').toBe('10ms a 9ms b 9ms c', { a: 0, b: 1, c: 2 });
    });
  });

  it('does not let a late tick push later ones back, and catches up at most maxCatchUp ticks (real timers)', async () => {
    const ticks: { tick: number; at: number }[] = [];
    const start = performance.now();
    const sub = steadyClock(200, undefined, 2).subscribe((tick) => ticks.push({ tick, at: performance.now() - start }));
    // The event loop is blocked for 700 ms: ticks 0, 1 and 2 fall due meanwhile (at 200, 400 and 600 ms).
    while (performance.now() - start < 700);
    await new Promise((resolve) => setTimeout(resolve, 500));
    sub.unsubscribe();
    // Once it frees up, the newest 2 go out together (with 2 lanes, each lane gets its turn once)...
    expect(ticks.slice(0, 2).map((t) => t.tick)).toEqual([1, 2]);
    expect(ticks[1]!.at - ticks[0]!.at).toBeLessThan(5);
    // ...and the next is back on schedule (due at 800 ms), where `interval` would wait a whole period from
    // the late one (900 ms or later). The margins leave a busy CI machine 80-100 ms of timer lateness.
    expect(ticks[2]?.tick).toBe(3);
    expect(ticks[2]!.at).toBeLessThan(880);
  });

  it('moves its schedule with a wall clock stepped back, instead of going silent until it catches up', () => {
    let wall = 1_000_000;
    const scheduler = new TestScheduler((a, e) => expect(a).toEqual(e));
    scheduler.run(({ expectObservable }) => {
      // A scheduler whose clock is the virtual time plus a wall-clock offset that an admin steps back at 25 ms.
      const stepped = { now: () => scheduler.now() + wall, schedule: scheduler.schedule.bind(scheduler) };
      scheduler.schedule(() => {
        wall -= 10_000;
      }, 25);
      expectObservable(steadyClock(10, stepped as typeof scheduler), '^ 55ms !').toBe('10ms a 9ms b 19ms c 9ms d', {
        a: 0,
        b: 1,
        c: 2,
        d: 3,
      });
    });
  });
});
