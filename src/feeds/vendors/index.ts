import { alpacaCodec, alpacaServer } from './alpaca.js';
import { coinbaseCodec, coinbaseServer } from './coinbase.js';
import { finnhubCodec, finnhubServer } from './finnhub.js';
import { polygonCodec, polygonServer } from './polygon.js';
import type { VendorCodec, VendorFormat, VendorServer } from './types.js';

const CODECS: Record<VendorFormat, VendorCodec> = {
  polygon: polygonCodec,
  alpaca: alpacaCodec,
  finnhub: finnhubCodec,
  coinbase: coinbaseCodec,
};

const SERVERS: Record<VendorFormat, VendorServer> = {
  polygon: polygonServer,
  alpaca: alpacaServer,
  finnhub: finnhubServer,
  coinbase: coinbaseServer,
};

export function vendorCodec(format: VendorFormat): VendorCodec {
  return CODECS[format];
}

export function vendorServer(format: VendorFormat): VendorServer {
  return SERVERS[format];
}

export * from './types.js';
