import fc from 'fast-check';
import { map, merge, timer } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { conflate } from '../../src/pipeline/conflate.js';

const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('conflate', () => {
  it('passes the first value at once and the newest of each interval at its trailing edge', () => {
    scheduler().run(({ cold, expectObservable }) => {
      // 100 Hz: a 10 ms interval
      const source = cold(' a-b-c 20ms d|');
      const expected = '    a 9ms c 14ms d|';
      expectObservable(source.pipe(conflate(100))).toBe(expected);
    });
  });

  it('never emits more than once per interval under a continuous stream', () => {
    scheduler().run(({ cold, expectObservable }) => {
      // a value every 2 ms for 30 ms, conflated to 100 Hz
      const source = cold('a-b-c-d-e-f-g-h-i-j-k-l-m-n-o-p|');
      expectObservable(source.pipe(conflate(100))).toBe('a 9ms f 9ms k 9ms p|');
    });
  });

  it('delivers the latest value, not a stale one, when the stream goes quiet', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const source = cold('ab 50ms -');
      expectObservable(source.pipe(conflate(20))).toBe('a 49ms b');
    });
  });

  it('lets a lone value through immediately and emits nothing extra', () => {
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('-a 100ms b 100ms |').pipe(conflate(50))).toBe('-a 100ms b 100ms |');
    });
  });

  it('unsubscribes from the source and drops its timer when torn down', () => {
    scheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('a-b-c-d-e-f');
      const unsub = '     ^-----!';
      expectObservable(source.pipe(conflate(250)), unsub).toBe('a---c-');
      expectSubscriptions(source.subscriptions).toBe('^-----!');
    });
  });
});

describe('conflate, for any arrival pattern', () => {
  it('keeps emissions at least one interval apart and always ends on the newest value', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 60 }),
        fc.constantFrom(10, 20, 50, 100),
        (gaps, hz) => {
          const interval = 1000 / hz;
          const emitted: { t: number; v: number }[] = [];
          const testScheduler = new TestScheduler(() => undefined);
          testScheduler.run(({ flush }) => {
            let at = 0;
            const arrivals = gaps.map((gap, i) => {
              at += gap;
              return timer(at).pipe(map(() => i));
            });
            merge(...arrivals)
              .pipe(conflate<number>(hz))
              .subscribe((v) => emitted.push({ t: testScheduler.now(), v }));
            flush();
          });
          for (let i = 1; i < emitted.length; i++) {
            expect(emitted[i]!.t - emitted[i - 1]!.t).toBeGreaterThanOrEqual(interval);
          }
          expect(emitted.at(-1)?.v).toBe(gaps.length - 1);
        },
      ),
      { numRuns: 300 },
    );
  });
});
