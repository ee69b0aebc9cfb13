import { createSimulator } from '../../src/feeds/simulated.js';
import { listings } from '../../src/feeds/universe.js';
import type { Quote } from '../../src/protocol.js';

/** One numbering per process, as tickstream's epoch (the wire quotes stay the same size). */
const EPOCH = Date.now();

export type SimSourceOptions = { symbols: number; ticksPerSecond: number; seed: number; intervalMs?: number };

/**
 * The same simulator tickstream's simulated feed runs, for the comparison servers: a step every
 * `intervalMs`, each tick given a per-symbol `seq` and the day's open/high/low/change so that the quotes on
 * the wire are the same shape and size as tickstream's. Returns a stop function.
 */
export function runSimSource(options: SimSourceOptions, onQuote: (quote: Quote) => void): () => void {
  const universe = listings(options.symbols);
  const simulator = createSimulator({ seed: options.seed, listings: universe, ticksPerSecond: options.ticksPerSecond });
  const day = new Map<string, { seq: number; open: number; high: number; low: number }>();
  const intervalMs = options.intervalMs ?? 20;
  let last = Date.now();
  const timer = setInterval(() => {
    const now = Date.now();
    for (const raw of simulator.step(now, now - last)) {
      let state = day.get(raw.symbol);
      if (!state) {
        state = { seq: 0, open: raw.price, high: raw.price, low: raw.price };
        day.set(raw.symbol, state);
      }
      state.seq += 1;
      state.high = Math.max(state.high, raw.price);
      state.low = Math.min(state.low, raw.price);
      const prevClose = raw.prevClose ?? raw.price;
      onQuote({
        ...raw,
        epoch: EPOCH,
        seq: state.seq,
        open: state.open,
        high: state.high,
        low: state.low,
        change: Math.round((raw.price - prevClose) * 100) / 100,
        changePct: Math.round(((raw.price - prevClose) / prevClose) * 1e6) / 1e4,
      });
    }
    last = now;
  }, intervalMs);
  return () => clearInterval(timer);
}

/** Every bench server answers `GET /bench/stats` with this, so the harness can check the generator kept up. */
export type BenchServerStats = { sent: number; ticks: number };

export function symbolsOf(count: number): string[] {
  return listings(count).map((l) => l.symbol);
}
