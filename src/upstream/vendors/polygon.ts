import { channelParams, DEFAULT_CHANNELS, symbolsOfParams } from '../../feeds/vendors/polygon.js';
import { isRecord, jsonText, parseJson } from '../../feeds/vendors/types.js';
import type { UpstreamTick, VendorRequest, VendorServer } from './types.js';

/**
 * The server half of the Polygon stream, for the demo upstream (src/upstream/wsUpstream.ts). The wire format is
 * described with the client codec, src/feeds/vendors/polygon.ts; test/unit/vendors.test.ts tests the two halves
 * against each other.
 */

const status = (status: string, message: string) => JSON.stringify([{ ev: 'status', status, message }]);

export const polygonServer: VendorServer = {
  format: 'polygon',
  path: '/stocks',
  auth: 'frame',
  decodeRequest(frame): VendorRequest {
    const value = parseJson(frame);
    if (!isRecord(value) || typeof value.params !== 'string')
      return { kind: 'invalid', reason: 'expected {action, params}' };
    if (value.action === 'auth') return { kind: 'auth', key: value.params };
    if (value.action === 'subscribe') return { kind: 'subscribe', symbols: symbolsOfParams(value.params) };
    if (value.action === 'unsubscribe') return { kind: 'unsubscribe', symbols: symbolsOfParams(value.params) };
    return { kind: 'invalid', reason: `unknown action ${jsonText(value.action)}` };
  },
  hello: () => status('connected', 'Connected Successfully'),
  authSucceeded: () => status('auth_success', 'authenticated'),
  authFailed: () => status('auth_failed', 'authentication failed'),
  notAuthenticated: () => status('error', 'not authorized'),
  subscribed: (_request, session) => [
    status('success', `subscribed to: ${channelParams([...session.symbols].sort(), DEFAULT_CHANNELS)}`),
  ],
  subscriptionRefused: (_reason, detail) => status('error', detail),
  connectionLimitExceeded: () => status('max_connections', 'Maximum number of websocket connections exceeded'),
  badRequest: (reason) => status('error', reason),
  ticks(ticks: readonly UpstreamTick[]) {
    if (ticks.length === 0) return [];
    const events = ticks.flatMap((t) => [
      { ev: 'T', sym: t.symbol, p: t.price, s: t.size, t: t.ts, q: t.sequence },
      { ev: 'Q', sym: t.symbol, bp: t.bid, bs: 1, ap: t.ask, as: 1, t: t.ts, q: t.sequence },
    ]);
    return [JSON.stringify(events)];
  },
  keepAlive: () => [],
};
