import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AccessRule, decide, HTTP_ACCESS, routeOf, SOCKET_ACCESS } from '../../src/delivery/accessPolicy.js';
import type { AuthFailure, AuthResult } from '../../src/delivery/types.js';

const FAILURES: AuthFailure[] = ['missing', 'malformed', 'bad_signature', 'expired', 'not_yet_valid', 'unknown_token'];
const rule = fc.record<AccessRule>({
  audience: fc.constantFrom('anyone', 'client', 'admin'),
  symbols: fc.constantFrom('all', 'granted'),
});
const symbol = fc.constantFrom('AAPL', 'MSFT', 'NVDA', 'BTC-USD');
const credential: fc.Arbitrary<AuthResult> = fc.oneof(
  fc.record({ ok: fc.constant(false as const), reason: fc.constantFrom(...FAILURES) }),
  fc.record({
    ok: fc.constant(true as const),
    grant: fc.record(
      {
        role: fc.constantFrom('user' as const, 'admin' as const),
        symbols: fc.uniqueArray(symbol).map((s) => new Set(s)),
      },
      { requiredKeys: ['role'] },
    ),
  }),
);

describe('decide', () => {
  it('lets anyone use an open entry point, whatever the credential, with every symbol', () => {
    fc.assert(
      fc.property(credential, symbol, (given, s) => {
        const access = decide({ audience: 'anyone', symbols: 'all' }, given);
        expect(access.ok && access.mayWatch(s)).toBe(true);
      }),
    );
  });

  it('refuses a failed credential with its reason (401), and a user on an admin entry point (403)', () => {
    fc.assert(
      fc.property(rule, credential, symbol, (r, given, s) => {
        const access = decide(r, given);
        if (r.audience === 'anyone') {
          expect(access.ok).toBe(true);
        } else if (!given.ok) {
          expect(access).toEqual({ ok: false, refusal: { kind: 'unauthenticated', reason: given.reason } });
        } else if (r.audience === 'admin' && given.grant.role !== 'admin') {
          expect(access).toEqual({ ok: false, refusal: { kind: 'forbidden', reason: 'not_admin' } });
        } else {
          // A token's symbols limit the entry point only where its rule says so.
          const limited = r.symbols === 'granted' && given.grant.symbols !== undefined && !given.grant.symbols.has(s);
          expect(access.ok && access.mayWatch(s)).toBe(!limited);
        }
      }),
    );
  });

  it('has a rule for the handshake and every event, and routes other paths to the dashboard files', () => {
    expect(Object.keys(SOCKET_ACCESS).sort()).toEqual(['handshake', 'replay', 'subscribe', 'symbols', 'unsubscribe']);
    expect(routeOf('/api/snapshot')).toBe('/api/snapshot');
    expect(routeOf('/assets/index-abc.js')).toBe('/*');
    expect(routeOf('/toString')).toBe('/*'); // own keys only, not the prototype's
    expect(routeOf('/api/nothing')).toBeUndefined(); // a mistyped API path is not the dashboard's
    expect(routeOf('/admin-ui')).toBe('/admin-ui/*'); // its redirect to the folder
    expect(routeOf('/admin-ui/js/app.js')).toBe('/admin-ui/*');
    expect(routeOf('/admin-uix')).toBe('/*');
    expect(HTTP_ACCESS['/healthz'].audience).toBe('anyone');
  });
});
