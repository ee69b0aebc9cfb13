import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import type { Quote } from '../../src/protocol.js';
import { latestPerFrame } from '../../web/src/latestPerFrame.js';

// The dashboard's per-frame batching, with animation frames on virtual time (TestScheduler.run stands in for
// requestAnimationFrame behind rxjs's animationFrameScheduler).
const quote = (symbol: string, price: number): Quote => ({ symbol, price, ts: price, epoch: 1, seq: price });
const values = { a: quote('AAPL', 1), b: quote('AAPL', 2), c: quote('MSFT', 3), d: quote('AAPL', 4) };
const bySymbol = (q: Quote) => q.symbol;
/** Display frames at 3, 7, 11 and 15 ms of virtual time: a value waits for the next one. */
const FRAMES = '---x---x---x---x';
const newTestScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('latestPerFrame', () => {
  it('emits at the next frame the newest value per key', () => {
    newTestScheduler().run(({ animate, cold, expectObservable }) => {
      animate(FRAMES);
      const source = cold('a-b-(cdb)-|', values);
      expectObservable(source.pipe(latestPerFrame(bySymbol))).toBe('---x---y--|', {
        // a and b both came before the first frame: only AAPL's newest, b, is written.
        x: new Map([['AAPL', values.b]]),
        // c, d and b came before the second: MSFT's c, and AAPL's newest (b came last).
        y: new Map([
          ['AAPL', values.b],
          ['MSFT', values.c],
        ]),
      });
    });
  });

  it('flushes what is pending when the source completes, and passes errors on', () => {
    newTestScheduler().run(({ animate, cold, expectObservable }) => {
      animate(FRAMES);
      expectObservable(cold('(ac|)', values).pipe(latestPerFrame(bySymbol))).toBe('(x|)', {
        x: new Map([
          ['AAPL', values.a],
          ['MSFT', values.c],
        ]),
      });
      expectObservable(cold('--#', values).pipe(latestPerFrame(bySymbol))).toBe('--#');
    });
  });

  it('writes nothing once unsubscribed, even with values waiting for a frame', () => {
    newTestScheduler().run(({ animate, cold, expectObservable, expectSubscriptions }) => {
      animate(FRAMES);
      const source = cold('a-(bc)-d', values);
      expectObservable(source.pipe(latestPerFrame(bySymbol)), '^-!').toBe('-');
      expectSubscriptions(source.subscriptions).toBe('^-!');
    });
  });
});
