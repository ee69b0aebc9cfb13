import { type Random, seededRandom } from '../src/feeds/random.js';
import { listings } from '../src/feeds/universe.js';
import { DEFAULT_SYMBOLS } from '../web/src/defaultSymbols.js';

export const WORKLOAD_KINDS = ['uniform', 'realistic'] as const;
/** uniform: random symbols, sets that rarely repeat; realistic: popular symbols and the default watchlist. */
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

export type SubscriptionOptions = {
  /** Symbols each socket watches (the watchlist sockets watch the watchlist instead). */
  perSocket: number;
  /** The universe's size: `listings(universe)`, the simulator's symbols. */
  universe: number;
  seed: number;
  /** realistic: the share of sockets (0..1) on the dashboard's default watchlist. */
  watchlistShare: number;
  /** realistic: the Zipf exponent of symbol popularity (1: the r-th symbol is watched 1/r as often). */
  zipfExponent: number;
};

/** Each socket's symbols for a workload; the same arguments give the same sets. */
export function subscriptionsFor(kind: WorkloadKind, sockets: number, options: SubscriptionOptions): string[][] {
  return kind === 'uniform'
    ? socketSubscriptions(sockets, options.perSocket, options.universe, options.seed)
    : realisticSubscriptions(sockets, options);
}

/**
 * Each socket's symbols: `perSocket` distinct symbols drawn at random (seeded) from the universe, so
 * subscription sets rarely repeat: the harder case for a server that could share frames between sockets.
 */
export function socketSubscriptions(sockets: number, perSocket: number, universe: number, seed: number): string[][] {
  const symbols = listings(universe).map((l) => l.symbol);
  const random = seededRandom(seed);
  return Array.from({ length: sockets }, () => distinctDraw(symbols, perSocket, () => random.int(symbols.length)));
}

/**
 * What watchers do: a share of the sockets (exactly `round(share * sockets)`, spread at random) on the
 * dashboard's first-visit watchlist, the same set in the same order; the others `perSocket` distinct symbols
 * drawn by Zipf popularity over the universe in its order (the largest listings first, as people watch them).
 */
export function realisticSubscriptions(sockets: number, options: SubscriptionOptions): string[][] {
  const symbols = listings(options.universe).map((l) => l.symbol);
  const watchlist = defaultWatchlist(options.universe);
  const random = seededRandom(options.seed);
  const zipf = zipfSampler(symbols.length, options.zipfExponent, random);
  let watchlistLeft = Math.round(options.watchlistShare * sockets);
  return Array.from({ length: sockets }, (_, index) => {
    // Selection sampling: each socket joins with probability (still to place) / (sockets left), so exactly
    // that many join, spread over the open order (and so over the generator's threads).
    if (random.next() * (sockets - index) < watchlistLeft) {
      watchlistLeft -= 1;
      return [...watchlist];
    }
    return distinctDraw(symbols, options.perSocket, zipf);
  });
}

/** The dashboard's default watchlist, less the symbols a small universe lacks. */
export function defaultWatchlist(universe: number): string[] {
  const known = new Set(listings(universe).map((l) => l.symbol));
  return DEFAULT_SYMBOLS.filter((symbol) => known.has(symbol));
}

/** `take` distinct symbols (at most all of them), drawing indices until that many are distinct. */
function distinctDraw(symbols: readonly string[], take: number, drawIndex: () => number): string[] {
  const chosen = new Set<string>();
  const size = Math.min(take, symbols.length);
  while (chosen.size < size) chosen.add(symbols[drawIndex()] as string);
  return [...chosen];
}

/** Draws an index in [0, n) with probability proportional to 1 / (index + 1) ^ exponent. */
function zipfSampler(n: number, exponent: number, random: Random): () => number {
  const cumulative = new Float64Array(n);
  let total = 0;
  for (let rank = 1; rank <= n; rank++) {
    total += 1 / rank ** exponent;
    cumulative[rank - 1] = total;
  }
  return () => {
    const target = random.next() * total;
    // The first index whose cumulative weight passes the target.
    let low = 0;
    let high = n - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((cumulative[middle] as number) > target) high = middle;
      else low = middle + 1;
    }
    return low;
  };
}
