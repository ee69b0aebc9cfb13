import { describe, expect, it } from 'vitest';
import { defaultWatchlist, realisticSubscriptions, subscriptionsFor } from '../../bench/workload.js';
import { listings } from '../../src/feeds/universe.js';
import { DEFAULT_SYMBOLS } from '../../web/src/defaultSymbols.js';

const options = { perSocket: 20, universe: 500, seed: 7, watchlistShare: 0.3, zipfExponent: 1 };
const isWatchlist = (set: string[]) => set.join() === DEFAULT_SYMBOLS.join();

/** Least-squares slope of log(count) against log(rank): -exponent for a Zipf popularity. */
function logLogSlope(counts: number[], fromRank: number): number {
  const points = counts
    .map((count, index) => ({ x: Math.log(index + 1), y: Math.log(count) }))
    .filter((p, index) => index + 1 >= fromRank && Number.isFinite(p.y));
  const meanX = points.reduce((s, p) => s + p.x, 0) / points.length;
  const meanY = points.reduce((s, p) => s + p.y, 0) / points.length;
  const covariance = points.reduce((s, p) => s + (p.x - meanX) * (p.y - meanY), 0);
  const variance = points.reduce((s, p) => s + (p.x - meanX) ** 2, 0);
  return covariance / variance;
}

describe('the benchmark workloads', () => {
  it('realistic: the same seed gives the same sets, another seed other ones', () => {
    const a = realisticSubscriptions(1000, options);
    expect(realisticSubscriptions(1000, options)).toEqual(a);
    expect(realisticSubscriptions(1000, { ...options, seed: 8 })).not.toEqual(a);
  });

  it('realistic: exactly the watchlist share of sockets watch the dashboard default list, spread out', () => {
    const sets = realisticSubscriptions(1000, options);
    const onWatchlist = sets.map(isWatchlist);
    expect(onWatchlist.filter(Boolean)).toHaveLength(300);
    // Spread over the open order, not the first 300: each half has its share, give or take.
    expect(onWatchlist.slice(0, 500).filter(Boolean).length).toBeGreaterThan(100);
    expect(onWatchlist.slice(500).filter(Boolean).length).toBeGreaterThan(100);
    expect(realisticSubscriptions(1000, { ...options, watchlistShare: 0 }).some(isWatchlist)).toBe(false);
    // The others watch perSocket distinct symbols of the universe.
    const universe = new Set(listings(500).map((l) => l.symbol));
    for (const set of sets.filter((s) => !isWatchlist(s))) {
      expect(new Set(set).size).toBe(20);
      for (const symbol of set) expect(universe.has(symbol)).toBe(true);
    }
  });

  it('realistic: symbol popularity is Zipf-shaped over the universe order, uniform is flat', () => {
    const rankOf = new Map(listings(500).map((l, index) => [l.symbol, index]));
    const popularity = (sets: string[][]) => {
      const counts = new Map<number, number>();
      for (const set of sets)
        for (const symbol of set) {
          const rank = rankOf.get(symbol) ?? -1;
          counts.set(rank, (counts.get(rank) ?? 0) + 1);
        }
      return Array.from({ length: 500 }, (_, rank) => counts.get(rank) ?? 0);
    };
    const sum = (counts: number[], from: number, to: number) => counts.slice(from, to).reduce((s, c) => s + c, 0);
    const zipf = popularity(realisticSubscriptions(5000, { ...options, watchlistShare: 0 }));
    // Drawn without repeats, the head saturates (a top symbol is in most sets); the tail keeps the 1/r shape.
    expect(logLogSlope(zipf, 50)).toBeGreaterThan(-1.3);
    expect(logLogSlope(zipf, 50)).toBeLessThan(-0.7);
    expect(sum(zipf, 0, 50)).toBeGreaterThan(sum(zipf, 250, 500) * 3);
    const uniform = popularity(subscriptionsFor('uniform', 5000, options));
    expect(Math.abs(logLogSlope(uniform, 50))).toBeLessThan(0.1);
  });

  it("the watchlist is the dashboard's, less what a small universe lacks", () => {
    expect(defaultWatchlist(500)).toEqual([...DEFAULT_SYMBOLS]);
    expect(defaultWatchlist(50)).toEqual(DEFAULT_SYMBOLS.filter((s) => s !== 'QQQ'));
    const small = realisticSubscriptions(100, { ...options, universe: 50 });
    expect(small.filter((set) => set.join() === defaultWatchlist(50).join())).toHaveLength(30);
  });
});
