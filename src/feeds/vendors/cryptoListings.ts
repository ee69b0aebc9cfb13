import type { Listing } from '../universe.js';

/** A few large crypto products with plausible prices: the Coinbase-style demo upstream's universe. */
export const CRYPTO_LISTINGS: readonly Listing[] = [
  {
    symbol: 'BTC-USD',
    name: 'Bitcoin',
    exchange: 'Coinbase',
    currency: 'USD',
    prevClose: 97_250.0,
    volatility: 0.55,
    avgVolume: 12_000,
  },
  {
    symbol: 'ETH-USD',
    name: 'Ethereum',
    exchange: 'Coinbase',
    currency: 'USD',
    prevClose: 3_415.5,
    volatility: 0.7,
    avgVolume: 150_000,
  },
  {
    symbol: 'SOL-USD',
    name: 'Solana',
    exchange: 'Coinbase',
    currency: 'USD',
    prevClose: 187.3,
    volatility: 0.9,
    avgVolume: 900_000,
  },
];
