import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { latestBySymbol } from '../../src/cluster/latestBySymbol.js';
import type { Quote } from '../../src/protocol.js';

const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const q = (symbol: string, seq: number): Quote => ({ symbol, price: 100 + seq, ts: seq, epoch: 1, seq });

describe('latestBySymbol', () => {
  it('emits each window once, with only the newest quote per symbol', () => {
    const s = scheduler();
    s.run(({ cold, expectObservable }) => {
      const values = { a: q('A', 1), b: q('B', 1), c: q('A', 2), d: q('A', 3), e: q('B', 2) };
      const source = cold('abc 7ms d-e 10ms |', values);
      // windows of 10 ms: [a b c] at 10 ms, [d e] at 20 ms, the empty rest emits nothing
      const expected = '10ms x 9ms y 2ms |';
      expectObservable(source.pipe(latestBySymbol(10, s))).toBe(expected, {
        x: [q('A', 2), q('B', 1)],
        y: [q('A', 3), q('B', 2)],
      });
    });
  });

  it('emits nothing for quiet windows', () => {
    const s = scheduler();
    s.run(({ cold, expectObservable }) => {
      const source = cold('a 35ms -', { a: q('A', 1) });
      expectObservable(source.pipe(latestBySymbol(10, s)), '^ 35ms !').toBe('10ms x', { x: [q('A', 1)] });
    });
  });
});
