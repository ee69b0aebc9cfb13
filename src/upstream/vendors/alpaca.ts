import { ALPACA_ERRORS, type AlpacaErrorCode } from '../../feeds/vendors/alpaca.js';
import { isRecord, jsonText, parseJson, symbolList } from '../../feeds/vendors/types.js';
import type { UpstreamTick, VendorRequest, VendorServer } from './types.js';

/**
 * The server half of the Alpaca stream, for the demo upstream (src/upstream/wsUpstream.ts). The wire format is
 * described with the client codec, src/feeds/vendors/alpaca.ts; test/unit/vendors.test.ts tests the two halves
 * against each other.
 */

const error = (code: AlpacaErrorCode) => JSON.stringify([{ T: 'error', code, msg: ALPACA_ERRORS[code] }]);

export const alpacaServer: VendorServer = {
  format: 'alpaca',
  path: '/v2/iex',
  auth: 'frame',
  decodeRequest(frame): VendorRequest {
    const value = parseJson(frame);
    if (!isRecord(value)) return { kind: 'invalid', reason: 'not a JSON object' };
    if (value.action === 'auth') {
      if (typeof value.key !== 'string') return { kind: 'invalid', reason: 'auth without key' };
      return { kind: 'auth', key: value.key, secret: typeof value.secret === 'string' ? value.secret : undefined };
    }
    if (value.action === 'subscribe' || value.action === 'unsubscribe') {
      if (!Array.isArray(value.trades) && !Array.isArray(value.quotes))
        return { kind: 'invalid', reason: 'no channels' };
      const symbols = [...new Set([...symbolList(value.trades), ...symbolList(value.quotes)])];
      return { kind: value.action, symbols };
    }
    return { kind: 'invalid', reason: `unknown action ${jsonText(value.action)}` };
  },
  hello: () => JSON.stringify([{ T: 'success', msg: 'connected' }]),
  authSucceeded: () => JSON.stringify([{ T: 'success', msg: 'authenticated' }]),
  authFailed: () => error(402),
  notAuthenticated: () => error(401),
  subscribed: (_request, session) => {
    const symbols = [...session.symbols].sort();
    return [JSON.stringify([{ T: 'subscription', trades: symbols, quotes: symbols, bars: [] }])];
  },
  subscriptionRefused: (reason) => error(reason === 'symbol_limit' ? 405 : 400),
  connectionLimitExceeded: () => error(406),
  badRequest: () => error(400),
  ticks(ticks: readonly UpstreamTick[]) {
    if (ticks.length === 0) return [];
    const messages = ticks.flatMap((t) => {
      const time = new Date(t.ts).toISOString();
      return [
        { T: 't', S: t.symbol, i: t.sequence, x: 'V', p: t.price, s: t.size, t: time, c: ['@'], z: 'C' },
        { T: 'q', S: t.symbol, bx: 'V', bp: t.bid, bs: 1, ax: 'V', ap: t.ask, as: 1, t: time, c: ['R'], z: 'C' },
      ];
    });
    return [JSON.stringify(messages)];
  },
  keepAlive: () => [],
};
