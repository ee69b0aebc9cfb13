import fc from 'fast-check';
import { from, lastValueFrom, tap, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { rateTier } from '../../src/delivery/rateTier.js';
import { Epochs } from '../../src/ingest/epochs.js';
import { intoCache, LastValueCache } from '../../src/ingest/lastValueCache.js';
import { assignSeq } from '../../src/pipeline/assignSeq.js';
import { type InvalidInput, normalizeQuote, validateQuote } from '../../src/pipeline/normalizeQuote.js';
import { withDayStats } from '../../src/pipeline/withDayStats.js';
import { isNewer, type RawQuote } from '../../src/protocol.js';

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
  it('numbers each symbol on its own, strictly increasing, in the current epoch', () => {
    marbles().run(({ cold, expectObservable }) => {
      const source = cold('abcd|', { a: q('A', 1), b: q('B', 1), c: q('A', 2), d: q('A', 3) });
      expectObservable(source.pipe(assignSeq(() => 7))).toBe('abcd|', {
        a: { value: q('A', 1), epoch: 7, seq: 1 },
        b: { value: q('B', 1), epoch: 7, seq: 1 },
        c: { value: q('A', 2), epoch: 7, seq: 2 },
        d: { value: q('A', 3), epoch: 7, seq: 3 },
      });
    });
  });

  it('counts every symbol from 1 again when the epoch changes', () => {
    marbles().run(({ cold, expectObservable }) => {
      let epoch = 1;
      const source = cold('ab-cd|', { a: q('A', 1), b: q('A', 2), c: q('A', 3), d: q('B', 4) });
      const numbered = source.pipe(assignSeq(() => epoch));
      // A seek between b and c: the epoch moves on there.
      cold('---x').subscribe(() => {
        epoch = 2;
      });
      expectObservable(numbered).toBe('ab-cd|', {
        a: { value: q('A', 1), epoch: 1, seq: 1 },
        b: { value: q('A', 2), epoch: 1, seq: 2 },
        c: { value: q('A', 3), epoch: 2, seq: 1 },
        d: { value: q('B', 4), epoch: 2, seq: 1 },
      });
    });
  });

  it('starts over for each subscription', async () => {
    const numbered = from([q('A', 1), q('A', 2)]).pipe(assignSeq(() => 1));
    const first = await lastValueFrom(numbered.pipe(toArray()));
    const second = await lastValueFrom(numbered.pipe(toArray()));
    expect(first.map((x) => x.seq)).toEqual([1, 2]);
    expect(second.map((x) => x.seq)).toEqual([1, 2]);
  });

  it('orders (epoch, seq) so that every value numbered later is newer', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('A', 'B', 'C'), fc.boolean()), { maxLength: 100 }), (steps) => {
        const epochs = new Epochs(() => 1000);
        const values = steps.map(([symbol, jump]) => ({ symbol, jump }));
        const out: { symbol: string; epoch: number; seq: number }[] = [];
        from(values)
          .pipe(
            tap((v) => {
              if (v.jump) epochs.next();
            }),
            assignSeq(() => epochs.current),
          )
          .subscribe(({ value, epoch, seq }) => out.push({ symbol: value.symbol, epoch, seq }));
        const last = new Map<string, [number, number]>();
        for (const v of out) {
          const before = last.get(v.symbol);
          if (before) expect(isNewer([v.epoch, v.seq], before)).toBe(true);
          last.set(v.symbol, [v.epoch, v.seq]);
        }
      }),
    );
  });
});

describe('Epochs', () => {
  it('starts at the clock and only grows, even when the clock stands still or goes back', () => {
    let now = 5000;
    const epochs = new Epochs(() => now);
    expect(epochs.current).toBe(5000);
    expect(epochs.next()).toBe(5001);
    now = 100;
    expect(epochs.next()).toBe(5002);
    now = 9000;
    expect(epochs.next()).toBe(9000);
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
      ]).pipe(
        assignSeq(() => 1),
        withDayStats('America/New_York'),
        toArray(),
      ),
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
        assignSeq(() => 1),
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
        assignSeq(() => 1),
        withDayStats('America/New_York'),
        toArray(),
      ),
    );
    expect(quotes[2]).toMatchObject({ open: 11, high: 11, low: 11, prevClose: 12, change: -1 });
  });

  it('passes bid, ask, size and source through, adds exactly the day statistics, and takes a later open and prevClose', async () => {
    const quotes = await lastValueFrom(
      from([
        q('A', 100, { bid: 99.9, ask: 100.1, size: 5, source: 'sim' }),
        q('A', 101, { open: 99, prevClose: 95 }),
      ]).pipe(
        assignSeq(() => 1),
        withDayStats('America/New_York'),
        toArray(),
      ),
    );
    // Strict: no change fields while prevClose is unknown, no bid, ask, size or source the feed did not send.
    expect(quotes).toStrictEqual([
      {
        symbol: 'A',
        price: 100,
        ts: NY_MORNING,
        epoch: 1,
        seq: 1,
        bid: 99.9,
        ask: 100.1,
        size: 5,
        volume: 5,
        open: 100,
        high: 100,
        low: 100,
        source: 'sim',
      },
      {
        symbol: 'A',
        price: 101,
        ts: NY_MORNING,
        epoch: 1,
        seq: 2,
        volume: 5,
        open: 99,
        high: 101,
        low: 100,
        prevClose: 95,
        change: 6,
        changePct: 6.3158,
      },
    ]);
  });

  it("turns the day exactly at the exchange's midnight, and again when the feed jumps back to the day before", async () => {
    const midnight = Date.UTC(2026, 10, 25, 5, 0); // 00:00 New York, 25 November
    const quotes = await lastValueFrom(
      from([
        q('A', 10, { ts: midnight - 1 }),
        q('A', 12, { ts: midnight }),
        q('A', 13, { ts: midnight + 1 }),
        // Ten minutes back: a replay seek, not a late tick (test/unit/withDayStats.test.ts has those).
        q('A', 11, { ts: midnight - 600_000 }),
      ]).pipe(
        assignSeq(() => 1),
        withDayStats('America/New_York'),
        toArray(),
      ),
    );
    expect(quotes[1]).toMatchObject({ open: 12, high: 12, low: 12, prevClose: 10 });
    expect(quotes[2]).toMatchObject({ open: 12, high: 13, low: 12, prevClose: 10 });
    expect(quotes[3]).toMatchObject({ open: 11, high: 11, low: 11 });
    expect(quotes[3]?.prevClose).toBeUndefined();
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

  it('takes the tiers in any order', () => {
    const shuffled = [10, 1, 20, 4, 2];
    expect([0.5, 3, 9.99, 10, 1000].map((maxHz) => rateTier(shuffled, maxHz))).toEqual([1, 2, 4, 10, 20]);
    expect(shuffled).toEqual([10, 1, 20, 4, 2]); // not sorted in place
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
      from([q('A', 1), q('B', 2), q('A', 3)]).pipe(
        assignSeq(() => 1),
        withDayStats('UTC'),
        intoCache(cache),
        toArray(),
      ),
    );
    expect(cache.snapshot(['B', 'A', 'C']).map((x) => [x.symbol, x.price])).toEqual([
      ['B', 2],
      ['A', 3],
    ]);
  });
});
