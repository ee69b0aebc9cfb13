import { DateTime } from 'luxon';
import { lastValueFrom, take, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { createSimulator, simulatedFeed } from '../../src/feeds/simulated.js';
import { listings, US_LISTINGS } from '../../src/feeds/universe.js';

const run = (seed: number, steps: number, options: { ticksPerSecond?: number } = {}) => {
  const sim = createSimulator({ seed, listings: listings(), ticksPerSecond: options.ticksPerSecond ?? 500 });
  const out = [];
  for (let i = 1; i <= steps; i++) out.push(...sim.step(1_700_000_000_000 + i * 20, 20));
  return out;
};

describe('simulated market', () => {
  it('has about fifty real US symbols with plausible prices', () => {
    expect(US_LISTINGS.length).toBeGreaterThanOrEqual(50);
    expect(new Set(US_LISTINGS.map((l) => l.symbol)).size).toBe(US_LISTINGS.length);
    for (const l of US_LISTINGS) expect(l.prevClose).toBeGreaterThan(1);
    expect(US_LISTINGS.map((l) => l.symbol)).toEqual(expect.arrayContaining(['AAPL', 'MSFT', 'NVDA', 'BRK.B']));
  });

  it('gives the same ticks for the same seed, and others for another seed', () => {
    const a = run(42, 200);
    expect(run(42, 200)).toEqual(a);
    expect(run(43, 200)).not.toEqual(a);
    expect(a.length).toBe(2000); // 500/s for 4 s
  });

  it('keeps prices positive, in cents, with bid <= price <= ask and growing day volume', () => {
    const ticks = run(7, 3000, { ticksPerSecond: 2000 });
    const volume = new Map<string, number>();
    for (const t of ticks) {
      expect(t.price).toBeGreaterThan(0);
      expect(Math.round(t.price * 100)).toBeCloseTo(t.price * 100, 6);
      expect(t.bid!).toBeLessThanOrEqual(t.price);
      expect(t.ask!).toBeGreaterThanOrEqual(t.price);
      expect(t.volume!).toBeGreaterThan(volume.get(t.symbol) ?? 0);
      volume.set(t.symbol, t.volume!);
    }
    // A minute of simulated trading moves prices, but only by a plausible amount.
    const last = new Map(ticks.map((t) => [t.symbol, t.price]));
    for (const l of US_LISTINGS) {
      const p = last.get(l.symbol);
      if (p) expect(Math.abs(Math.log(p / l.prevClose))).toBeLessThan(0.1);
    }
  });

  it("starts each symbol's day over at the exchange's midnight: prevClose is the day before's last price, volume from 0", () => {
    const midnight = DateTime.fromISO('2026-11-25T00:00', { zone: 'America/New_York' }).toMillis();
    const sim = createSimulator({ seed: 11, listings: listings(), ticksPerSecond: 500, zone: 'America/New_York' });
    const ticks = [];
    for (let now = midnight - 30_000; now < midnight + 30_000; now += 20) ticks.push(...sim.step(now, 20));
    const lastBefore = new Map<string, number>();
    const volumeAfter = new Map<string, number>();
    let checked = 0;
    for (const tick of ticks) {
      if (tick.ts < midnight) {
        lastBefore.set(tick.symbol, tick.price);
        expect(tick.prevClose).toBe(listings().find((l) => l.symbol === tick.symbol)?.prevClose);
        continue;
      }
      const before = lastBefore.get(tick.symbol);
      if (before !== undefined) {
        expect(tick.prevClose).toBe(before);
        checked++;
      }
      const volume = (volumeAfter.get(tick.symbol) ?? 0) + (tick.size ?? 0);
      expect(tick.volume).toBe(volume);
      volumeAfter.set(tick.symbol, volume);
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it('gives each symbol its share of the ticks: in proportion to the square root of its average volume', () => {
    const ticks = run(5, 30_000, { ticksPerSecond: 200 });
    const counts = new Map<string, number>();
    for (const t of ticks) counts.set(t.symbol, (counts.get(t.symbol) ?? 0) + 1);
    const weights = listings().map((l) => [l.symbol, Math.sqrt(l.avgVolume)] as const);
    const total = weights.reduce((sum, [, w]) => sum + w, 0);
    // Total variation distance between the observed shares and the weights; regimes move it a little (0.03
    // over 10 minutes of seeds 1 to 5).
    let distance = 0;
    for (const [symbol, w] of weights) distance += Math.abs((counts.get(symbol) ?? 0) / ticks.length - w / total);
    expect(distance / 2).toBeLessThan(0.08);
  });

  it('has bursts and quiet spells: per-second tick counts of a symbol vary', () => {
    const ticks = run(11, 50 * 120, { ticksPerSecond: 1000 });
    const perSecond = new Map<number, number>();
    for (const t of ticks.filter((x) => x.symbol === 'AAPL')) {
      const s = Math.floor(t.ts / 1000);
      perSecond.set(s, (perSecond.get(s) ?? 0) + 1);
    }
    const counts = [...perSecond.values()];
    expect(Math.max(...counts)).toBeGreaterThan(2 * Math.min(...counts));
  });

  it('emits on the scheduler at its interval, scaled by activity', () => {
    const scheduler = new TestScheduler((a, e) => expect(a).toEqual(e));
    scheduler.run(({ expectObservable }) => {
      const feed = simulatedFeed(
        { seed: 1, listings: listings(5), ticksPerSecond: 100, intervalMs: 100, activityAt: () => 0.5 },
        scheduler,
      );
      // 100/s at half activity is 5 ticks per 100 ms step
      const counts: number[] = [];
      feed.pipe(take(15)).subscribe({ next: () => counts.push(scheduler.now()) });
      expectObservable(feed.pipe(take(1))).toBe('100ms (a|)', { a: expect.objectContaining({ source: 'sim' }) });
      scheduler.flush();
      expect(counts).toEqual([...Array(5).fill(100), ...Array(5).fill(200), ...Array(5).fill(300)]);
    });
  });

  it('scales past the real listings with synthetic symbols for benchmarks', async () => {
    const many = listings(500);
    expect(many).toHaveLength(500);
    expect(new Set(many.map((l) => l.symbol)).size).toBe(500);
    const sim = createSimulator({ seed: 3, listings: many, ticksPerSecond: 10_000 });
    expect(sim.step(1_700_000_000_000, 1000)).toHaveLength(10_000);
    await lastValueFrom(
      simulatedFeed({ seed: 1, listings: many, ticksPerSecond: 10_000, intervalMs: 5 }).pipe(take(100), toArray()),
    );
  });
});
