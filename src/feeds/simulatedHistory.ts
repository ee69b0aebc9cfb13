import type { Bar } from '../protocol.js';
import { BAR_MS } from '../protocol.js';
import { seededRandom } from './random.js';
import type { Listing } from './universe.js';

export type SimulatedHistoryOptions = {
  /** The simulator's seed: the backfill ends where the simulator starts. */
  seed: number;
  listings: readonly Listing[];
  /** When the simulated feed starts (epoch ms): the last backfilled bar is the minute before it. */
  endTs: number;
  /** How many 1-minute bars to backfill. */
  minutes?: number;
};

const TRADING_MINUTES_PER_YEAR = 252 * 390;

/**
 * The simulator's opening prices. createSimulator draws one normal per listing, in order, from its seeded
 * PRNG before any tick; drawing the same way gives the same prices without reaching into the simulator.
 */
export function simulatorOpeningPrices(seed: number, listings: readonly Listing[]): Map<string, number> {
  const random = seededRandom(seed);
  return new Map(listings.map((l) => [l.symbol, roundCents(l.prevClose * (1 + random.normal() * 0.004))]));
}

/**
 * A deterministic backfill for the simulated feed: the previous few hours of 1-minute bars per symbol,
 * walked backwards from the simulator's opening price so that history and the live stream join up.
 */
export function simulatedHistory(options: SimulatedHistoryOptions): (symbol: string) => Bar[] {
  const minutes = options.minutes ?? 240;
  const opening = simulatorOpeningPrices(options.seed, options.listings);
  const bySymbol = new Map(options.listings.map((l) => [l.symbol, l]));
  const lastBar = Math.floor(options.endTs / BAR_MS) * BAR_MS - BAR_MS;
  return (symbol) => {
    const listing = bySymbol.get(symbol);
    const close = opening.get(symbol);
    if (!listing || close === undefined) return [];
    const random = seededRandom(options.seed ^ hashSymbol(symbol));
    const sigma = listing.volatility / Math.sqrt(TRADING_MINUTES_PER_YEAR);
    const meanVolume = listing.avgVolume / 390;
    const bars: Bar[] = new Array(minutes);
    let barClose = close;
    for (let i = minutes - 1; i >= 0; i--) {
      const open = Math.max(0.01, roundCents(barClose * Math.exp(-sigma * random.normal())));
      const wick = sigma * 0.5;
      const high = roundCents(Math.max(open, barClose) * Math.exp(Math.abs(random.normal()) * wick));
      const low = Math.max(0.01, roundCents(Math.min(open, barClose) * Math.exp(-Math.abs(random.normal()) * wick)));
      const volume = 100 * Math.round((meanVolume * (0.5 + random.next())) / 100);
      bars[i] = { time: lastBar - (minutes - 1 - i) * BAR_MS, open, high, low, close: barClose, volume };
      barClose = open;
    }
    return bars;
  };
}

/** FNV-1a: a stable per-symbol seed. */
function hashSymbol(symbol: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < symbol.length; i++) {
    hash ^= symbol.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

function roundCents(value: number): number {
  return Math.round(value * 100) / 100;
}
