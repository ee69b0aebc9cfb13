import fc from 'fast-check';
import { from, lastValueFrom, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { assignSeq } from '../../src/pipeline/assignSeq.js';
import { intoCache, LastValueCache } from '../../src/pipeline/lastValueCache.js';
import { type InvalidInput, normalizeQuote, validateQuote } from '../../src/pipeline/normalizeQuote.js';
import { rateTier } from '../../src/pipeline/rateTier.js';
import { withDayStats } from '../../src/pipeline/withDayStats.js';
import type { RawQuote } from '../../src/protocol.js';

const marbles = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const NY_MORNING = Date.UTC(2026, 10, 24, 15, 0); // 10:00 in New York
const q = (symbol: string, price: number, extra: Partial<RawQuote> = {}): RawQuote => ({
  symbol,
  price,
  ts: NY_MORNING,
  ...extra,
});

describe('normalizeQuote', () => {
  it('passes valid quotes, upper-cases symbols and drops invalid ones with a reason', () => {
    const invalid: InvalidInput['reason'][] = [];
    marbles().run(({ cold, expectObservable }) => {
      const source = cold('abcdef|', {
        a: { symbol: ' aapl ', price: 1.5, ts: 1 },
        b: { symbol: 'MSFT', price: Number.NaN, ts: 1 },
        c: { symbol: 'MSFT', price: -3, ts: 1 },
        d: 'not a quote',
        e: { symbol: 'lower case!', price: 1, ts: 1 },
        f: { symbol: 'IBM', price: 2, ts: 2, bid: -1, unknown: 'kept out' },
      });
      expectObservable(source.pipe(normalizeQuote((i) => invalid.push(i.reason)))).toBe('a----f|', {
        a: { symbol: 'AAPL', price: 1.5, ts: 1 },
        f: { symbol: 'IBM', price: 2, ts: 2 },
      });
    });
    expect(invalid).toEqual(['bad_price', 'bad_price', 'not_object', 'bad_symbol', 'bad_field']);
  });

  it('never throws and only ever returns well-formed quotes, whatever the input', () => {
    fc.assert(
      fc.property(fc.anything({ withObjectString: true, withNullPrototype: true }), (value) => {
        const quote = validateQuote(value);
        if (quote) {
          expect(quote.price).toBeGreaterThan(0);
          expect(Number.isFinite(quote.ts)).toBe(true);
          expect(quote.symbol).toMatch(/^[A-Z0-9^]/);
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('accepts any quote-shaped record with a positive finite price', () => {
    fc.assert(
      fc.property(
        fc.record({
          symbol: fc.stringMatching(/^[A-Z]{1,5}$/),
          price: fc.double({ min: 0.0001, max: 1e7, noNaN: true }),
          ts: fc.integer({ min: 1, max: 2 ** 45 }),
          volume: fc.option(fc.nat(), { nil: undefined }),
        }),
        (raw) => {
          const quote = validateQuote(raw);
          expect(quote).toMatchObject({ symbol: raw.symbol, price: raw.price, ts: raw.ts });
        },
      ),
    );
  });
});

describe('assignSeq', () => {
  it('numbers each symbol on its own, strictly increasing', () => {
    marbles().run(({ cold, expectObservable }) => {
      const source = cold('abcd|', { a: q('A', 1), b: q('B', 1), c: q('A', 2), d: q('A', 3) });
      expectObservable(source.pipe(assignSeq())).toBe('abcd|', {
        a: { ...q('A', 1), seq: 1 },
        b: { ...q('B', 1), seq: 1 },
        c: { ...q('A', 2), seq: 2 },
        d: { ...q('A', 3), seq: 3 },
      });
    });
  });

  it('starts over for each subscription', async () => {
    const numbered = from([q('A', 1), q('A', 2)]).pipe(assignSeq());
    const first = await lastValueFrom(numbered.pipe(toArray()));
    const second = await lastValueFrom(numbered.pipe(toArray()));
    expect(first.map((x) => x.seq)).toEqual([1, 2]);
    expect(second.map((x) => x.seq)).toEqual([1, 2]);
  });
});

describe('withDayStats', () => {
  it('tracks open, high, low, volume and change against prevClose', async () => {
    const quotes = await lastValueFrom(
      from([
        q('A', 100, { prevClose: 98, size: 100 }),
        q('A', 103, { size: 200 }),
        q('A', 97, { size: 50 }),
        q('A', 99, { size: 10 }),
      ]).pipe(assignSeq(), withDayStats('America/New_York'), toArray()),
    );
    expect(quotes.at(-1)).toMatchObject({
      open: 100,
      high: 103,
      low: 97,
      volume: 360,
      prevClose: 98,
      change: 1,
      changePct: 1.0204,
    });
  });

  it("uses the feed's cumulative volume and open when it has them", async () => {
    const quotes = await lastValueFrom(
      from([q('A', 10, { open: 9.5, volume: 5000, prevClose: 9 }), q('A', 11, { volume: 5300 })]).pipe(
        assignSeq(),
        withDayStats('America/New_York'),
        toArray(),
      ),
    );
    expect(quotes[1]).toMatchObject({ open: 9.5, volume: 5300, high: 11, low: 10 });
  });

  it("starts a new day at the exchange's midnight, with the last price as the new prevClose", async () => {
    const day1 = Date.UTC(2026, 10, 24, 20, 0); // 15:00 New York
    const day2 = Date.UTC(2026, 10, 25, 14, 45); // 09:45 New York next day
    const quotes = await lastValueFrom(
      from([q('A', 10, { ts: day1 }), q('A', 12, { ts: day1 + 1000 }), q('A', 11, { ts: day2 })]).pipe(
        assignSeq(),
        withDayStats('America/New_York'),
        toArray(),
      ),
    );
    expect(quotes[2]).toMatchObject({ open: 11, high: 11, low: 11, prevClose: 12, change: -1 });
  });
});

describe('rateTier', () => {
  const tiers = [1, 2, 4, 10, 20];
  it.each([
    [2, 2],
    [3, 2],
    [9.99, 4],
    [10, 10],
    [1000, 20],
    [0.5, 1],
  ])('maps maxHz %s to tier %s', (maxHz, tier) => {
    expect(rateTier(tiers, maxHz)).toBe(tier);
  });

  it('never exceeds the asked rate unless it is below the lowest tier', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.01, max: 10_000, noNaN: true }), (maxHz) => {
        const tier = rateTier(tiers, maxHz);
        expect(tiers).toContain(tier);
        if (maxHz >= 1) expect(tier).toBeLessThanOrEqual(maxHz);
      }),
    );
  });
});

describe('LastValueCache', () => {
  it('keeps the newest quote per symbol and answers snapshots in the asked order', async () => {
    const cache = new LastValueCache();
    await lastValueFrom(
      from([q('A', 1), q('B', 2), q('A', 3)]).pipe(assignSeq(), withDayStats('UTC'), intoCache(cache), toArray()),
    );
    expect(cache.snapshot(['B', 'A', 'C']).map((x) => [x.symbol, x.price])).toEqual([
      ['B', 2],
      ['A', 3],
    ]);
  });
});
