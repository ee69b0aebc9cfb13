import { asyncScheduler, interval, map, mergeMap, Observable, type SchedulerLike } from 'rxjs';
import type { FeedConfig } from '../config/schema.js';
import { marketSession, tradingDay } from '../market/session.js';
import type { RawQuote } from '../protocol.js';
import { seededRandom } from './random.js';
import { simulatedHistory } from './simulatedHistory.js';
import type { FeedContext, FeedSource } from './types.js';
import { type Listing, listings } from './universe.js';

export type SimulatedFeedConfig = Extract<FeedConfig, { type: 'simulated' }>;

export type SimulatorOptions = {
  seed: number;
  listings: readonly Listing[];
  /** Total ticks per second across all symbols at full activity. */
  ticksPerSecond: number;
  source?: string;
  /** Activity factor (0..1) at an instant, e.g. lower outside the open session. */
  activityAt?: (now: number) => number;
  /**
   * The exchange's zone: on each new day there, a symbol's prevClose becomes its last price and its day volume
   * starts from 0. Without it the listings' prevClose and one running volume hold for ever.
   */
  zone?: string;
};

type Regime = 'normal' | 'burst' | 'quiet';
const REGIME_RATE: Record<Regime, number> = { normal: 1, burst: 4, quiet: 0.25 };
const REGIME_VOL: Record<Regime, number> = { normal: 1, burst: 2.5, quiet: 0.5 };
const TRADING_SECONDS_PER_YEAR = 252 * 6.5 * 3600;

type SymbolState = {
  listing: Listing;
  price: number;
  /** The day before's last price (the listing's on the first day). */
  prevClose: number;
  volume: number;
  lastTs: number;
  regime: Regime;
  /** Share of the symbol in the tick flow, before its regime. */
  baseWeight: number;
};

/**
 * A deterministic market: geometric Brownian motion per symbol, with regimes (bursts and quiet spells)
 * that change both the tick rate and the volatility. `step` advances it by `dtMs` of wall time and returns
 * the ticks of that step; the same seed and the same steps give the same ticks.
 */
export function createSimulator(options: SimulatorOptions) {
  const random = seededRandom(options.seed);
  const source = options.source ?? 'sim';
  const states: SymbolState[] = options.listings.map((listing) => ({
    listing,
    // Open near the previous close, as a real session does.
    price: roundCents(listing.prevClose * (1 + random.normal() * 0.004)),
    prevClose: listing.prevClose,
    volume: 0,
    lastTs: 0,
    regime: 'normal',
    baseWeight: Math.sqrt(listing.avgVolume),
  }));
  let carry = 0;
  let day = { key: '', start: 0, end: -1 };

  /** A new day in the exchange's zone closes the last one: its last prices are the new prevCloses. */
  const turnDay = (now: number) => {
    if (options.zone === undefined || (now >= day.start && now < day.end)) return;
    const next = tradingDay(options.zone, now);
    if (day.key !== '' && next.key > day.key) {
      for (const state of states) {
        state.prevClose = state.price;
        state.volume = 0;
      }
    }
    day = next;
  };

  const stepRegimes = (dtMs: number) => {
    const p = dtMs / 1000;
    for (const state of states) {
      const roll = random.next();
      if (state.regime === 'normal') {
        if (roll < 0.01 * p) state.regime = 'burst';
        else if (roll < 0.03 * p) state.regime = 'quiet';
      } else if (roll < (state.regime === 'burst' ? 0.3 : 0.1) * p) {
        state.regime = 'normal';
      }
    }
  };

  // Each symbol's share of the tick flow changes only with its regime, once per step: the running totals are
  // built once per step and each tick's symbol is found by binary search (a scan of every symbol per tick
  // cost more than the rest of the pipeline at 10,000 ticks/s).
  const cumulative = new Float64Array(states.length);
  const weigh = () => {
    let total = 0;
    for (let i = 0; i < states.length; i++) {
      const s = states[i] as SymbolState;
      total += s.baseWeight * REGIME_RATE[s.regime];
      cumulative[i] = total;
    }
  };

  /** The first symbol whose running total reaches a uniform draw over the whole. */
  const pick = (): SymbolState => {
    const target = random.next() * (cumulative[states.length - 1] as number);
    let lo = 0;
    let hi = states.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cumulative[mid] as number) >= target) hi = mid;
      else lo = mid + 1;
    }
    return states[lo] as SymbolState;
  };

  const tick = (state: SymbolState, now: number): RawQuote => {
    const dtSeconds = state.lastTs ? Math.max(0.001, (now - state.lastTs) / 1000) : 1;
    const sigma = state.listing.volatility * REGIME_VOL[state.regime] * Math.sqrt(dtSeconds / TRADING_SECONDS_PER_YEAR);
    const next = state.price * Math.exp(-0.5 * sigma * sigma + sigma * random.normal());
    state.price = Math.max(0.01, roundCents(next));
    state.lastTs = now;
    const size = 100 * (1 + Math.floor(-Math.log(1 - random.next()) * 2));
    state.volume += size;
    const halfSpread = Math.max(0.01, roundCents(state.price * 0.0001 * (1 + random.next())));
    return {
      symbol: state.listing.symbol,
      price: state.price,
      ts: now,
      bid: roundCents(state.price - halfSpread),
      ask: roundCents(state.price + halfSpread),
      size,
      volume: state.volume,
      prevClose: state.prevClose,
      source,
    };
  };

  return {
    step(now: number, dtMs: number): RawQuote[] {
      if (states.length === 0) return [];
      turnDay(now);
      stepRegimes(dtMs);
      weigh();
      const activity = options.activityAt ? options.activityAt(now) : 1;
      carry += (options.ticksPerSecond * activity * dtMs) / 1000;
      const count = Math.floor(carry);
      carry -= count;
      const out: RawQuote[] = new Array(count);
      for (let i = 0; i < count; i++) out[i] = tick(pick(), now);
      return out;
    },
  };
}

/** The simulator as a feed: a step every `intervalMs` on `scheduler`, its ticks emitted one by one. */
export function simulatedFeed(
  options: SimulatorOptions & { intervalMs?: number },
  scheduler: SchedulerLike = asyncScheduler,
): Observable<RawQuote> {
  const intervalMs = options.intervalMs ?? 20;
  return new Observable<RawQuote>((subscriber) => {
    const simulator = createSimulator(options);
    let last = scheduler.now();
    return interval(intervalMs, scheduler)
      .pipe(
        map(() => {
          const now = scheduler.now();
          const batch = simulator.step(now, now - last);
          last = now;
          return batch;
        }),
        mergeMap((batch) => batch),
      )
      .subscribe(subscriber);
  });
}

/** A `type: simulated` feed: its listings, a backfill up to now, and quotes thinned outside the open session. */
export function simulatedFeedFromConfig(config: SimulatedFeedConfig, context: FeedContext): FeedSource {
  const universe = listings(config.symbols);
  let cachedUntil = 0;
  let factor = 1;
  const activityAt = (now: number) => {
    // The market session changes a few times a day: recompute it once a second at most.
    if (now >= cachedUntil) {
      const state = marketSession(context.market, now).state;
      factor = state === 'open' ? 1 : config.offHoursFactor;
      cachedUntil = now + 1000;
    }
    return factor;
  };
  return {
    id: config.id,
    symbols: universe.map(({ symbol, name, exchange, currency }) => ({ symbol, name, exchange, currency })),
    history: simulatedHistory({ seed: config.seed, listings: universe, endTs: (context.scheduler ?? Date).now() }),
    quotes$: simulatedFeed(
      {
        seed: config.seed,
        listings: universe,
        ticksPerSecond: config.ticksPerSecond,
        source: config.id,
        intervalMs: config.intervalMs,
        activityAt,
        zone: context.market.zone,
      },
      context.scheduler,
    ),
  };
}

function roundCents(value: number): number {
  return Math.round(value * 100) / 100;
}
