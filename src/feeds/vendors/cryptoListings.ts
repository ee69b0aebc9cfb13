import type { Listing } from '../universe.js';

/** A crypto pair the demo upstreams serve, before a vendor spells it. */
type Pair = Omit<Listing, 'symbol' | 'exchange' | 'currency'> & { base: string; quote: string };

/** A few large crypto pairs with plausible prices: the crypto demo upstreams' universe. */
const PAIRS: readonly Pair[] = [
  { base: 'BTC', quote: 'USD', name: 'Bitcoin', prevClose: 97_250.0, volatility: 0.55, avgVolume: 12_000 },
  { base: 'ETH', quote: 'USD', name: 'Ethereum', prevClose: 3_415.5, volatility: 0.7, avgVolume: 150_000 },
  { base: 'SOL', quote: 'USD', name: 'Solana', prevClose: 187.3, volatility: 0.9, avgVolume: 900_000 },
];

/** How each crypto venue spells a pair: `BTC-USD`, `BTC/USD`, or `BTCUSDT` (Binance quotes in USDT). */
const SPELLING = {
  coinbase: { exchange: 'Coinbase', symbol: (p: Pair) => `${p.base}-${p.quote}`, quote: (p: Pair) => p.quote },
  kraken: { exchange: 'Kraken', symbol: (p: Pair) => `${p.base}/${p.quote}`, quote: (p: Pair) => p.quote },
  alpaca: { exchange: 'Alpaca', symbol: (p: Pair) => `${p.base}/${p.quote}`, quote: (p: Pair) => p.quote },
  binance: { exchange: 'Binance', symbol: (p: Pair) => `${p.base}${p.quote}T`, quote: (p: Pair) => `${p.quote}T` },
} as const;
export type CryptoVenue = keyof typeof SPELLING;

export function cryptoListings(venue: CryptoVenue): Listing[] {
  const spelling = SPELLING[venue];
  return PAIRS.map(({ base, quote, ...pair }) => {
    const spelled = { ...pair, base, quote };
    return {
      ...pair,
      symbol: spelling.symbol(spelled),
      exchange: spelling.exchange,
      currency: spelling.quote(spelled),
    };
  });
}
