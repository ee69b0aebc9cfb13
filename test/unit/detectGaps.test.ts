import { defer } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { detectGaps, type UpstreamGap } from '../../src/pipeline/detectGaps.js';

const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
type Q = { symbol: string; upstreamSeq?: number };
const q = (symbol: string, upstreamSeq?: number): Q =>
  upstreamSeq === undefined ? { symbol } : { symbol, upstreamSeq };

describe('detectGaps', () => {
  it('passes every value and reports per-symbol jumps', () => {
    const gaps: UpstreamGap[] = [];
    scheduler().run(({ cold, expectObservable }) => {
      const values = { a: q('AAPL', 1), b: q('MSFT', 7), c: q('AAPL', 2), d: q('AAPL', 5), e: q('MSFT', 8), f: q('X') };
      const source = cold('a-b-c-d-e-f|', values);
      expectObservable(source.pipe(detectGaps((gap) => gaps.push(gap)))).toBe('a-b-c-d-e-f|', values);
    });
    expect(gaps).toEqual([{ scope: 'symbol', symbol: 'AAPL', expected: 3, received: 5, missing: 2 }]);
  });

  it('per feed: one sequence across symbols', () => {
    const gaps: UpstreamGap[] = [];
    scheduler().run(({ cold, expectObservable }) => {
      const values = { a: q('AAPL', 10), b: q('MSFT', 11), c: q('AAPL', 13) };
      expectObservable(cold('abc|', values).pipe(detectGaps((gap) => gaps.push(gap), 'feed'))).toBe('abc|', values);
    });
    expect(gaps).toEqual([{ scope: 'feed', symbol: 'AAPL', expected: 12, received: 13, missing: 1 }]);
  });

  it('takes a sequence going back as a restart, and a repeat as no gap', () => {
    const gaps: UpstreamGap[] = [];
    scheduler().run(({ cold, expectObservable }) => {
      const values = { a: q('AAPL', 500), b: q('AAPL', 1), c: q('AAPL', 2), d: q('AAPL', 2), e: q('AAPL', 4) };
      expectObservable(cold('abcde|', values).pipe(detectGaps((gap) => gaps.push(gap)))).toBe('abcde|', values);
    });
    expect(gaps.map((g) => [g.expected, g.received])).toEqual([[3, 4]]);
  });

  it('checks across values without upstreamSeq (they neither reset nor break the count)', () => {
    const gaps: UpstreamGap[] = [];
    scheduler().run(({ cold, expectObservable }) => {
      const values = { a: q('AAPL', 1), b: q('AAPL'), c: q('AAPL', 3) };
      expectObservable(cold('abc|', values).pipe(detectGaps((gap) => gaps.push(gap)))).toBe('abc|', values);
    });
    expect(gaps).toEqual([{ scope: 'symbol', symbol: 'AAPL', expected: 2, received: 3, missing: 1 }]);
  });

  it('counts afresh for each subscription', () => {
    // Each subscription is a new upstream session: the second one starts at 5, where the first left off
    // at 2. Counted afresh, 5 is that session's first number (no gap) and only 5 -> 7 is a gap; with one
    // count shared across subscriptions, 2 -> 5 would be reported as well.
    const gaps: UpstreamGap[] = [];
    scheduler().run(({ cold, expectObservable }) => {
      const values = { a: q('AAPL', 1), b: q('AAPL', 2), c: q('AAPL', 5), d: q('AAPL', 7) };
      const sessions = [cold('ab|', values), cold('cd|', values)];
      let session = 0;
      const checked = defer(() => sessions[session++] as (typeof sessions)[number]).pipe(
        detectGaps((gap) => gaps.push(gap)),
      );
      expectObservable(checked, '^--!').toBe('ab|', values);
      expectObservable(checked, '----^').toBe('----cd|', values);
    });
    expect(gaps).toEqual([{ scope: 'symbol', symbol: 'AAPL', expected: 6, received: 7, missing: 1 }]);
  });

  it('counts afresh for each source the same operator is applied to', () => {
    const gaps: UpstreamGap[] = [];
    scheduler().run(({ cold, expectObservable }) => {
      const values = { a: q('AAPL', 1), b: q('AAPL', 2), c: q('AAPL', 5), d: q('AAPL', 7) };
      const check = detectGaps<Q>((gap) => gaps.push(gap));
      expectObservable(cold('ab|', values).pipe(check)).toBe('ab|', values);
      expectObservable(cold('----cd|', values).pipe(check)).toBe('----cd|', values);
    });
    expect(gaps).toEqual([{ scope: 'symbol', symbol: 'AAPL', expected: 6, received: 7, missing: 1 }]);
  });
});
