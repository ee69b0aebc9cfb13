import fc from 'fast-check';
import { interval, map, merge, share, timer } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { ConflatedStreams } from '../../src/pipeline/conflatedStreams.js';
import { conflateOnClock } from '../../src/pipeline/conflateOnClock.js';
import type { Quote } from '../../src/protocol.js';

const marbles = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('conflateOnClock', () => {
  it('emits the newest value at each tick, nothing when no value came', () => {
    marbles().run(({ cold, hot, expectObservable }) => {
      const clock = hot('  ---------t---------t---------t---------t');
      const source = cold('-a-b-c----------------d-e---------');
      expectObservable(source.pipe(conflateOnClock(clock))).toBe('---------c-------------------e---------');
    });
  });

  it('still delivers the newest value at the next tick when the source completes first', () => {
    marbles().run(({ cold, hot, expectObservable }) => {
      const clock = hot('  -----t-----t');
      expectObservable(cold('-ab|').pipe(conflateOnClock(clock))).toBe('-----(b|)');
      expectObservable(cold('-a-----|').pipe(conflateOnClock(clock))).toBe('-----a-|');
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
          const sub = merge(...arrivals)
            .pipe(conflateOnClock(clock))
            .subscribe((v) => out.push({ t: scheduler.now(), v }));
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
