import fc from 'fast-check';
import { DateTime } from 'luxon';
import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { assignSeq } from '../../src/pipeline/assignSeq.js';
import { withDayStats } from '../../src/pipeline/withDayStats.js';
import type { Quote, RawQuote } from '../../src/protocol.js';

const NY = 'America/New_York';
const ny = (iso: string) => DateTime.fromISO(iso, { zone: NY }).toMillis();
const q = (ts: number, price: number, extra: Partial<RawQuote> = {}): RawQuote => ({
  symbol: 'A',
  price,
  ts,
  ...extra,
});
const stats = (quotes: RawQuote[], zone = NY): Promise<Quote[]> =>
  lastValueFrom(
    from(quotes).pipe(
      assignSeq(() => 1),
      withDayStats(zone),
      toArray(),
    ),
  );
const dayStats = (quote: Quote | undefined) => ({
  open: quote?.open,
  high: quote?.high,
  low: quote?.low,
  volume: quote?.volume,
  prevClose: quote?.prevClose,
  change: quote?.change,
});

describe('withDayStats across the day boundary', () => {
  it.each([
    // [label, zone, last instant of the day before, first instant of the day]
    ['New York, the Sunday clocks go forward', NY, '2026-03-07T23:59:59.999', '2026-03-08T00:00'],
    ['New York, the Monday after clocks went forward', NY, '2026-03-08T23:59:59.999', '2026-03-09T00:00'],
    ['New York, the Sunday clocks go back', NY, '2026-10-31T23:59:59.999', '2026-11-01T00:00'],
    ['New York, the Monday after clocks went back', NY, '2026-11-01T23:59:59.999', '2026-11-02T00:00'],
    ['London, the Monday after clocks went forward', 'Europe/London', '2026-03-29T23:59:59.999', '2026-03-30T00:00'],
    ['London, the Monday after clocks went back', 'Europe/London', '2026-10-25T23:59:59.999', '2026-10-26T00:00'],
    ['Tokyo (no daylight saving)', 'Asia/Tokyo', '2026-03-08T23:59:59.999', '2026-03-09T00:00'],
  ])('%s: the day turns at the exchange midnight, not before', async (_label, zone, before, first) => {
    const at = (iso: string) => DateTime.fromISO(iso, { zone }).toMillis();
    const quotes = await stats(
      [q(at(before) - 3600_000, 10, { size: 5 }), q(at(before), 12, { size: 5 }), q(at(first), 11, { size: 7 })],
      zone,
    );
    expect(dayStats(quotes[1])).toEqual({
      open: 10,
      high: 12,
      low: 10,
      volume: 10,
      prevClose: undefined,
      change: undefined,
    });
    expect(dayStats(quotes[2])).toEqual({ open: 11, high: 11, low: 11, volume: 7, prevClose: 12, change: -1 });
  });

  it("a Monday's prevClose is Friday's last price, and the day after a holiday's is the day before it", async () => {
    const quotes = await stats([
      q(ny('2026-11-20T15:59'), 50, { size: 1 }), // Friday
      q(ny('2026-11-23T09:30'), 51, { size: 2 }), // Monday
      q(ny('2026-11-25T19:59'), 52, { size: 3 }), // Wednesday, before Thanksgiving
      q(ny('2026-11-27T09:30'), 49.4, { size: 4 }), // Friday after it
    ]);
    expect(quotes.map(dayStats)).toEqual([
      { open: 50, high: 50, low: 50, volume: 1, prevClose: undefined, change: undefined },
      { open: 51, high: 51, low: 51, volume: 2, prevClose: 50, change: 1 },
      { open: 52, high: 52, low: 52, volume: 3, prevClose: 51, change: 1 },
      { open: 49.4, high: 49.4, low: 49.4, volume: 4, prevClose: 52, change: -2.6 },
    ]);
    expect(quotes[3]?.changePct).toBe(-5);
  });

  it("takes the feed's own prevClose, volume, open, high and low on the new day over what it derived", async () => {
    const quotes = await stats([
      q(ny('2026-11-24T15:59'), 10, { volume: 9000, prevClose: 9 }),
      q(ny('2026-11-25T09:30'), 11, { volume: 300, prevClose: 10.5, open: 10.8, high: 11.2, low: 10.7 }),
    ]);
    expect(dayStats(quotes[1])).toEqual({
      open: 10.8,
      high: 11.2,
      low: 10.7,
      volume: 300,
      prevClose: 10.5,
      change: 0.5,
    });
  });

  it("a late tick of the day before (slightly out of order) leaves the new day's statistics alone", async () => {
    const midnight = ny('2026-11-25T00:00');
    const quotes = await stats([
      q(midnight - 2000, 10, { size: 1 }),
      q(midnight + 10, 12, { size: 2 }),
      q(midnight - 10, 9, { size: 3 }), // the day before's last trade, arriving after the new day's first
      q(midnight + 20, 13, { size: 4 }),
    ]);
    // The late tick carries its own day's statistics...
    expect(dayStats(quotes[2])).toEqual({
      open: 10,
      high: 10,
      low: 9,
      volume: 4,
      prevClose: undefined,
      change: undefined,
    });
    // ...and the new day goes on from where it was, its prevClose now the day before's real last price.
    expect(dayStats(quotes[3])).toEqual({ open: 12, high: 13, low: 12, volume: 6, prevClose: 9, change: 4 });
  });

  it('a jump back to the day before (a replay seek or loop) starts that day over, with no price of the later day as its prevClose', async () => {
    const quotes = await stats([
      q(ny('2026-11-24T10:00'), 10, { volume: 100, open: 10, high: 10, low: 10 }),
      q(ny('2026-11-24T15:59'), 11, { volume: 900, open: 10, high: 11.5, low: 9.5 }),
      q(ny('2026-11-25T09:30'), 20, { volume: 50, open: 20, high: 20, low: 20 }),
      // The seek restates the recorded quote at 10:00 the day before: it has no prevClose, nor had it then.
      q(ny('2026-11-24T10:00'), 10, { volume: 100, open: 10, high: 10, low: 10 }),
    ]);
    expect(quotes[2]?.prevClose).toBe(11);
    expect(dayStats(quotes[3])).toEqual({
      open: 10,
      high: 10,
      low: 10,
      volume: 100,
      prevClose: undefined,
      change: undefined,
    });
  });

  it("a jump back to the day before keeps that day's own prevClose", async () => {
    const quotes = await stats([
      q(ny('2026-11-23T15:00'), 8, { size: 1 }),
      q(ny('2026-11-24T10:00'), 10, { size: 1 }),
      q(ny('2026-11-25T10:00'), 12, { size: 1 }),
      q(ny('2026-11-24T11:00'), 10.5, { size: 1 }),
    ]);
    expect(quotes[3]).toMatchObject({ prevClose: 8, change: 2.5 });
  });

  it('property: late ticks of the day before (at most two minutes late) never change the statistics of the day after', async () => {
    const midnight = ny('2026-11-25T00:00');
    const tick = (side: 'before' | 'after') =>
      fc.record({
        side: fc.constant(side),
        offset: fc.integer({ min: 1, max: 60_000 }),
        price: fc.integer({ min: 1, max: 1000 }),
        size: fc.integer({ min: 1, max: 100 }),
      });
    await fc.assert(
      fc.asyncProperty(
        fc.array(tick('before'), { minLength: 1, maxLength: 10 }),
        fc.array(fc.oneof(tick('before'), tick('after')), { maxLength: 20 }),
        async (dayBefore, mixed) => {
          // The day before in order, then both days mixed, the new day's ticks in order: a tick of the day before
          // among them is late by at most two minutes.
          const sorted = [...dayBefore].sort((a, b) => b.offset - a.offset);
          const toQuote = (t: { side: string; offset: number; price: number; size: number }) =>
            q(t.side === 'before' ? midnight - t.offset : midnight + t.offset, t.price, { size: t.size });
          const afterOnly = mixed.filter((t) => t.side === 'after').sort((a, b) => a.offset - b.offset);
          const inOrder = [...sorted, ...afterOnly].map(toQuote);
          const interleaved = [...sorted.map(toQuote)];
          let a = 0;
          for (const t of mixed) {
            const next = t.side === 'after' ? afterOnly[a++] : t;
            if (next) interleaved.push(toQuote(next));
          }
          const expected = (await stats(inOrder)).filter((x) => x.ts >= midnight).map(dayStats);
          const got = (await stats(interleaved)).filter((x) => x.ts >= midnight).map(dayStats);
          // prevClose may move to a later last trade of the day before; the rest of the new day may not.
          const withoutPrevClose = (list: ReturnType<typeof dayStats>[]) =>
            list.map(({ open, high, low, volume }) => ({ open, high, low, volume }));
          expect(withoutPrevClose(got)).toEqual(withoutPrevClose(expected));
        },
      ),
    );
  });
});
