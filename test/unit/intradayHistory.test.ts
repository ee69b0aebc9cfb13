import fc from 'fast-check';
import { from, lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulator } from '../../src/feeds/simulated.js';
import { simulatedHistory, simulatorOpeningPrices } from '../../src/feeds/simulatedHistory.js';
import { listings } from '../../src/feeds/universe.js';
import { IntradayHistory, intoHistory } from '../../src/ingest/intradayHistory.js';
import type { Quote } from '../../src/protocol.js';
import { BAR_MS } from '../../src/protocol.js';
import type { Tickstream } from '../../src/roles/serve.js';
import { until } from '../helpers/lifecycle.js';
import { startTestService } from '../helpers/service.js';

const T0 = 1_700_000_040_000; // a minute boundary
const quote = (ts: number, price: number, size?: number, extra: Partial<Quote> = {}): Quote => ({
  symbol: 'AAPL',
  price,
  ts,
  epoch: 1,
  seq: 1,
  ...(size === undefined ? {} : { size }),
  ...extra,
});

describe('IntradayHistory', () => {
  it('builds 1-minute OHLC bars with volume from sizes', () => {
    const history = new IntradayHistory({ maxBars: 10 });
    history.add(quote(T0 + 1_000, 100, 100));
    history.add(quote(T0 + 20_000, 103, 200));
    history.add(quote(T0 + 40_000, 98, 300));
    history.add(quote(T0 + 59_999, 101, 100));
    history.add(quote(T0 + 60_000, 102, 500));
    expect(history.bars('AAPL')).toEqual([
      { time: T0, open: 100, high: 103, low: 98, close: 101, volume: 700 },
      { time: T0 + BAR_MS, open: 102, high: 102, low: 102, close: 102, volume: 500 },
    ]);
    expect(history.bars('MSFT')).toEqual([]);
  });

  it('uses the growth of cumulative volume when quotes have no size', () => {
    const history = new IntradayHistory({ maxBars: 10 });
    history.add(quote(T0, 100, undefined, { volume: 1000 }));
    history.add(quote(T0 + 1000, 100, undefined, { volume: 1500 }));
    history.add(quote(T0 + 2000, 100, undefined, { volume: 1700 }));
    expect(history.bars('AAPL')[0]?.volume).toBe(700);
  });

  it('keeps at most maxBars, dropping the oldest', () => {
    const history = new IntradayHistory({ maxBars: 3 });
    for (let i = 0; i < 5; i++) history.add(quote(T0 + i * BAR_MS, 100 + i, 1));
    expect(history.bars('AAPL').map((b) => b.open)).toEqual([102, 103, 104]);
  });

  it('starts from the backfill, asked once per symbol, and continues it with live bars', () => {
    const asked: string[] = [];
    const backfill = (symbol: string) => {
      asked.push(symbol);
      return [{ time: T0 - BAR_MS, open: 99, high: 100, low: 98, close: 99.5, volume: 10 }];
    };
    const history = new IntradayHistory({ maxBars: 10, backfill });
    expect(history.bars('AAPL')).toHaveLength(1);
    history.add(quote(T0 + 5, 99.6, 1));
    expect(history.bars('AAPL').map((b) => b.time)).toEqual([T0 - BAR_MS, T0]);
    expect(asked).toEqual(['AAPL']);
  });

  it('gives the bars from a bar it has on (copies), and nothing once that bar is gone or never was', () => {
    const history = new IntradayHistory({ maxBars: 3 });
    for (let i = 0; i < 3; i++) history.add(quote(T0 + i * BAR_MS, 100 + i, 1));
    expect(history.barsFrom('AAPL', T0 + BAR_MS)?.map((b) => b.close)).toEqual([101, 102]);
    expect(history.barsFrom('AAPL', T0 + 2 * BAR_MS)?.map((b) => b.close)).toEqual([102]);
    expect(history.barsFrom('AAPL', T0 + 30_000)).toBeUndefined(); // not a bar's start
    const from = history.barsFrom('AAPL', T0 + 2 * BAR_MS);
    if (from?.[0]) from[0].close = 0;
    expect(history.bars('AAPL').at(-1)?.close).toBe(102);
    history.add(quote(T0 + 3 * BAR_MS, 103, 1)); // the oldest bar (T0) goes
    expect(history.barsFrom('AAPL', T0)).toBeUndefined();
    history.clear();
    expect(history.barsFrom('AAPL', T0 + 3 * BAR_MS)).toBeUndefined();
  });

  it('hands out copies: callers cannot change the history', () => {
    const history = new IntradayHistory({ maxBars: 10 });
    history.add(quote(T0, 100, 1));
    const bars = history.bars('AAPL');
    (bars[0] as { close: number }).close = 1;
    expect(history.bars('AAPL')[0]?.close).toBe(100);
  });

  it('ignores a late tick for a closed bar, but starts over when the clock jumps back (replay seek)', () => {
    const history = new IntradayHistory({ maxBars: 10, resetAfterMs: 5 * BAR_MS });
    history.add(quote(T0 + 2 * BAR_MS, 100, 1));
    history.add(quote(T0 + BAR_MS, 50, 1)); // late: ignored
    expect(history.bars('AAPL')).toEqual([
      { time: T0 + 2 * BAR_MS, open: 100, high: 100, low: 100, close: 100, volume: 1 },
    ]);
    history.add(quote(T0 - 60 * BAR_MS, 80, 1)); // a seek an hour back
    expect(history.bars('AAPL')).toEqual([
      { time: T0 - 60 * BAR_MS, open: 80, high: 80, low: 80, close: 80, volume: 1 },
    ]);
  });

  it("a late tick does not move back the day's volume the next bar grows from", () => {
    const history = new IntradayHistory({ maxBars: 10 });
    history.add(quote(T0 + 30_000, 100, undefined, { volume: 1000 }));
    history.add(quote(T0 + BAR_MS + 5_000, 101, undefined, { volume: 1200 }));
    history.add(quote(T0 + 59_000, 99, undefined, { volume: 1100 })); // late: its bar is closed
    history.add(quote(T0 + BAR_MS + 10_000, 102, undefined, { volume: 1300 }));
    // 1000 -> 1200 -> 1300 in the second minute: 300 traded, not 400 (the late 1100 counted twice).
    expect(history.bars('AAPL').map((bar) => bar.volume)).toEqual([0, 300]);
  });

  it('property: bars are in time order, bounded, consistent, and count every traded share', () => {
    const ticks = fc.array(
      fc.record({
        dt: fc.integer({ min: 0, max: 3 * BAR_MS }),
        price: fc.double({ min: 0.01, max: 1e6, noNaN: true }),
        size: fc.integer({ min: 0, max: 10_000 }),
      }),
      { maxLength: 300 },
    );
    fc.assert(
      fc.property(ticks, fc.integer({ min: 1, max: 50 }), (steps, maxBars) => {
        const history = new IntradayHistory({ maxBars });
        let ts = T0;
        const sizeByMinute = new Map<number, number>();
        for (const step of steps) {
          ts += step.dt;
          history.add(quote(ts, step.price, step.size));
          const minute = Math.floor(ts / BAR_MS) * BAR_MS;
          sizeByMinute.set(minute, (sizeByMinute.get(minute) ?? 0) + step.size);
        }
        const bars = history.bars('AAPL');
        expect(bars.length).toBeLessThanOrEqual(maxBars);
        expect(bars.length).toBe(Math.min(maxBars, sizeByMinute.size));
        for (let i = 0; i < bars.length; i++) {
          const bar = bars[i]!;
          expect(bar.time % BAR_MS).toBe(0);
          if (i > 0) expect(bar.time).toBeGreaterThan(bars[i - 1]!.time);
          expect(bar.low).toBeLessThanOrEqual(Math.min(bar.open, bar.close));
          expect(bar.high).toBeGreaterThanOrEqual(Math.max(bar.open, bar.close));
          expect(bar.volume).toBe(sizeByMinute.get(bar.time));
        }
      }),
    );
  });

  it('intoHistory records every quote and passes it on unchanged', async () => {
    const history = new IntradayHistory({ maxBars: 10 });
    const quotes = [quote(T0, 1, 1), quote(T0 + 1, 2, 1)];
    expect(await lastValueFrom(from(quotes).pipe(intoHistory(history), toArray()))).toEqual(quotes);
    expect(history.bars('AAPL')).toEqual([{ time: T0, open: 1, high: 2, low: 1, close: 2, volume: 2 }]);
  });
});

describe('simulatedHistory (the simulated feed backfill)', () => {
  const universe = listings(60);
  const endTs = T0 + 12_345;

  it('gives the same bars for the same seed and start', () => {
    const a = simulatedHistory({ seed: 42, listings: universe, endTs })('AAPL');
    expect(simulatedHistory({ seed: 42, listings: universe, endTs })('AAPL')).toEqual(a);
    expect(simulatedHistory({ seed: 43, listings: universe, endTs })('AAPL')).not.toEqual(a);
    expect(simulatedHistory({ seed: 42, listings: universe, endTs })('UNKNOWN')).toEqual([]);
  });

  it('backfills consecutive minutes up to the one before the start, with consistent OHLC', () => {
    const bars = simulatedHistory({ seed: 42, listings: universe, endTs, minutes: 180 })('NVDA');
    expect(bars).toHaveLength(180);
    expect(bars.at(-1)?.time).toBe(T0 - BAR_MS);
    for (let i = 0; i < bars.length; i++) {
      const bar = bars[i]!;
      if (i > 0) {
        expect(bar.time - bars[i - 1]!.time).toBe(BAR_MS);
        expect(bar.open).toBe(bars[i - 1]!.close);
      }
      expect(bar.low).toBeGreaterThan(0);
      expect(bar.low).toBeLessThanOrEqual(Math.min(bar.open, bar.close));
      expect(bar.high).toBeGreaterThanOrEqual(Math.max(bar.open, bar.close));
      expect(bar.volume).toBeGreaterThan(0);
    }
  });

  it('ends at the price the simulator starts from', () => {
    const seed = 42;
    const opening = simulatorOpeningPrices(seed, universe);
    const history = simulatedHistory({ seed, listings: universe, endTs });
    for (const listing of universe) expect(history(listing.symbol).at(-1)?.close).toBe(opening.get(listing.symbol));
    // The simulator's first tick of each symbol is one small step from that opening price.
    const simulator = createSimulator({ seed, listings: universe, ticksPerSecond: 20_000 });
    const first = new Map<string, number>();
    for (const tick of simulator.step(endTs, 1000)) if (!first.has(tick.symbol)) first.set(tick.symbol, tick.price);
    expect(first.size).toBeGreaterThan(40);
    for (const [symbol, price] of first) {
      const open = opening.get(symbol)!;
      expect(Math.abs(price / open - 1)).toBeLessThan(0.01);
    }
  });
});

describe('GET /api/history (real server)', () => {
  let service: Tickstream;
  beforeAll(async () => {
    service = await startTestService();
  });
  afterAll(async () => {
    await service?.close();
  });

  it('returns the backfill plus live bars for a known symbol', async () => {
    // The live bar comes from AAPL's first tick.
    await until(() => service.cache.get('AAPL') !== undefined, 5000, 'a live AAPL tick');
    const res = await fetch(`${service.url}/api/history?symbol=aapl`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { ok: true; symbol: string; bars: { time: number; close: number }[] };
    expect(body.ok).toBe(true);
    expect(body.symbol).toBe('AAPL');
    expect(body.bars.length).toBeGreaterThanOrEqual(240);
    const now = Date.now();
    expect(body.bars.at(-1)!.time).toBeGreaterThan(now - 2 * BAR_MS);
    expect(body.bars[0]!.time).toBeLessThan(now - 3 * 3_600_000);
  });

  it('answers bad and unknown symbols with an error ack', async () => {
    const missing = await fetch(`${service.url}/api/history`);
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    const bad = await fetch(`${service.url}/api/history?symbol=${encodeURIComponent('no way')}`);
    expect(bad.status).toBe(400);
    const unknown = await fetch(`${service.url}/api/history?symbol=ZZZZ`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ ok: false, error: { code: 'UNKNOWN_SYMBOL' } });
  });
});
