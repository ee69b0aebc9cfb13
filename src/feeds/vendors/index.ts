import { alpacaCodec, alpacaServer } from './alpaca.js';
import { binanceCodec, binanceServer } from './binance.js';
import { coinbaseCodec, coinbaseServer } from './coinbase.js';
import { finnhubCodec, finnhubServer } from './finnhub.js';
import { krakenCodec, krakenServer } from './kraken.js';
import { type PolygonChannel, polygonCodecFor, polygonServer } from './polygon.js';
import type { VendorCodec, VendorFormat, VendorServer } from './types.js';

const CODECS: Record<VendorFormat, VendorCodec> = {
  polygon: polygonCodecFor(),
  alpaca: alpacaCodec,
  finnhub: finnhubCodec,
  coinbase: coinbaseCodec,
  binance: binanceCodec,
  kraken: krakenCodec,
};

const SERVERS: Record<VendorFormat, VendorServer> = {
  polygon: polygonServer,
  alpaca: alpacaServer,
  finnhub: finnhubServer,
  coinbase: coinbaseServer,
  binance: binanceServer,
  kraken: krakenServer,
};

/** The client codec of a vendor; Polygon's subscribes to `channels` (trades and quotes unless told otherwise). */
export function vendorCodec(format: VendorFormat, options: { channels?: readonly PolygonChannel[] } = {}): VendorCodec {
  return format === 'polygon' && options.channels ? polygonCodecFor(options.channels) : CODECS[format];
}

export function vendorServer(format: VendorFormat): VendorServer {
  return SERVERS[format];
}

export * from './types.js';
