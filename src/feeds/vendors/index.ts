import { alpacaCodec } from './alpaca.js';
import { binanceCodec } from './binance.js';
import { coinbaseCodec } from './coinbase.js';
import { finnhubCodec } from './finnhub.js';
import { krakenCodec } from './kraken.js';
import { type PolygonChannel, polygonCodecFor } from './polygon.js';
import type { VendorCodec, VendorFormat } from './types.js';

const CODECS: Record<VendorFormat, VendorCodec> = {
  polygon: polygonCodecFor(),
  alpaca: alpacaCodec,
  finnhub: finnhubCodec,
  coinbase: coinbaseCodec,
  binance: binanceCodec,
  kraken: krakenCodec,
};

/** The client codec of a vendor; Polygon's subscribes to `channels` (trades and quotes unless told otherwise). */
export function vendorCodec(format: VendorFormat, options: { channels?: readonly PolygonChannel[] } = {}): VendorCodec {
  return format === 'polygon' && options.channels ? polygonCodecFor(options.channels) : CODECS[format];
}

export * from './types.js';
