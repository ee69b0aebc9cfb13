import { isRecord, jsonText, parseJson } from '../../feeds/vendors/types.js';
import { normalizeSymbol } from '../../protocol.js';
import type { UpstreamTick, VendorRequest, VendorServer } from './types.js';

/**
 * The server half of the Finnhub stream, for the demo upstream (src/upstream/wsUpstream.ts). The wire format is
 * described with the client codec, src/feeds/vendors/finnhub.ts; test/unit/vendors.test.ts tests the two halves
 * against each other.
 */

const error = (msg: string) => JSON.stringify({ type: 'error', msg });

export const finnhubServer: VendorServer = {
  format: 'finnhub',
  path: '/',
  auth: 'url',
  decodeRequest(frame): VendorRequest {
    const value = parseJson(frame);
    if (!isRecord(value) || typeof value.symbol !== 'string' || value.symbol === '') {
      return { kind: 'invalid', reason: 'expected {type, symbol}' };
    }
    const symbols = [normalizeSymbol(value.symbol)];
    if (value.type === 'subscribe') return { kind: 'subscribe', symbols };
    if (value.type === 'unsubscribe') return { kind: 'unsubscribe', symbols };
    return { kind: 'invalid', reason: `unknown type ${jsonText(value.type)}` };
  },
  hello: () => undefined,
  authSucceeded: () => error('unexpected'),
  authFailed: () => error('Invalid API key'),
  notAuthenticated: () => error('Invalid API key'),
  subscribed: () => [],
  subscriptionRefused: (reason, detail) =>
    error(reason === 'symbol_limit' ? 'Subscribing to too many symbols' : `Unknown symbol ${detail}`),
  connectionLimitExceeded: () => undefined,
  badRequest: (reason) => error(reason),
  ticks(ticks: readonly UpstreamTick[]) {
    if (ticks.length === 0) return [];
    return [
      JSON.stringify({
        type: 'trade',
        data: ticks.map((t) => ({ s: t.symbol, p: t.price, t: t.ts, v: t.size, c: null })),
      }),
    ];
  },
  keepAlive: () => [JSON.stringify({ type: 'ping' })],
};
