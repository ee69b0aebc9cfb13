import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { conflatePerSymbol } from '../../packages/client/src/conflatePerSymbol.js';
import type { Quote } from '../../src/protocol.js';

const quote = (symbol: string, seq: number): Quote => ({ symbol, epoch: 1, seq, price: 100 + seq, ts: seq });

function scheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

describe('conflatePerSymbol', () => {
  // 100 Hz: one quote per symbol per 10 ms frame window.
  const values = {
    a: quote('AAPL', 1),
    b: quote('AAPL', 2),
    c: quote('AAPL', 3),
    m: quote('MSFT', 1),
    n: quote('MSFT', 2),
  };

  it('passes the first quote of each symbol at once and the newest one at the end of the interval', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const source = cold('am-b-c 20ms |', values);
      expectObservable(source.pipe(conflatePerSymbol(100))).toBe('am 8ms c 15ms |', values);
    });
  });

  it('lets a symbol through untouched while the server already keeps its rate (no phase-locked delay)', () => {
    scheduler().run(({ cold, expectObservable }) => {
      // AAPL is shared with a faster watcher (conflate it here); MSFT is not (the server's rate is ours).
      const source = cold('a-m-b-n-c 20ms |', values);
      const needed = (symbol: string) => symbol === 'AAPL';
      expectObservable(source.pipe(conflatePerSymbol(100, undefined, needed))).toBe('a-m---n---c 18ms |', values);
    });
  });

  it('keeps symbols apart: a busy symbol does not hold back a quiet one', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const source = cold('a-b-c-n 20ms |', values);
      expectObservable(source.pipe(conflatePerSymbol(100))).toBe('a-----n---c 16ms |', values);
    });
  });

  it('never drops the newest quote: when the source completes it still goes out, at the end of its interval', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const source = cold('abc|', values);
      expectObservable(source.pipe(conflatePerSymbol(100))).toBe('a 9ms (c|)', values);
    });
  });

  it('lets quotes further apart than the interval through unchanged', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const source = cold('a 19ms b 19ms c|', values);
      expectObservable(source.pipe(conflatePerSymbol(100))).toBe('a 19ms b 19ms c|', values);
    });
  });
});
