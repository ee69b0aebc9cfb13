import type { VendorFormat } from '../../feeds/vendors/types.js';
import { alpacaServer } from './alpaca.js';
import { binanceServer } from './binance.js';
import { coinbaseServer } from './coinbase.js';
import { finnhubServer } from './finnhub.js';
import { krakenServer } from './kraken.js';
import { polygonServer } from './polygon.js';
import type { VendorServer } from './types.js';

const SERVERS: Record<VendorFormat, VendorServer> = {
  polygon: polygonServer,
  alpaca: alpacaServer,
  finnhub: finnhubServer,
  coinbase: coinbaseServer,
  binance: binanceServer,
  kraken: krakenServer,
};

export function vendorServer(format: VendorFormat): VendorServer {
  return SERVERS[format];
}

export * from './types.js';
