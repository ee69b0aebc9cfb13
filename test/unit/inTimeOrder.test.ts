import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { inTimeOrder } from '../../src/pipeline/inTimeOrder.js';

const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const q = (symbol: string, ts: number) => ({ symbol, ts, price: ts });

describe('inTimeOrder', () => {
  // Found on main: with one live feed a trade report 60 s late set the price back.
  it("drops a quote older than the last one passed for its symbol, and lets other symbols' and equal ones through", () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const v = { a: q('AAPL', 100), b: q('AAPL', 40), c: q('MSFT', 50), d: q('AAPL', 100), e: q('AAPL', 120) };
      expectObservable(cold('abcde|', v).pipe(inTimeOrder(scheduler))).toBe('a-cde|', v);
    });
  });

  // Found in review: one tick an hour ahead (a wrong clock) froze its symbol until the clock caught up.
  it('does not hold later quotes to one that was more than a minute ahead of the clock', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const v = { a: q('AAPL', 3_600_000), b: q('AAPL', 2), c: q('AAPL', 3), d: q('AAPL', 1) };
      expectObservable(cold('abcd|', v).pipe(inTimeOrder(scheduler))).toBe('abc-|', v);
    });
  });
});
