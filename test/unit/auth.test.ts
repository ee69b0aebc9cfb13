import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { bearerToken, presentedToken, signJwt, TokenVerifier, verifyJwt } from '../../src/delivery/auth.js';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';
const NOW = 1_750_000_000_000;
const inAnHour = Math.floor(NOW / 1000) + 3600;

function authConfig(auth: Record<string, unknown>) {
  return parseConfig({ auth }).auth;
}

describe('verifyJwt', () => {
  it('accepts a token it signed, with its role, symbols and subject', () => {
    const token = signJwt({ sub: 'ana', exp: inAnHour, role: 'admin', symbols: ['aapl', 'MSFT'] }, SECRET);
    const result = verifyJwt(token, SECRET, NOW);
    expect(result).toEqual({
      ok: true,
      grant: { role: 'admin', symbols: new Set(['AAPL', 'MSFT']), expiresAt: inAnHour * 1000, subject: 'ana' },
    });
  });

  it('refuses an expired token, one not valid yet, and one signed with another secret', () => {
    expect(verifyJwt(signJwt({ exp: Math.floor(NOW / 1000) - 1 }, SECRET), SECRET, NOW)).toEqual({
      ok: false,
      reason: 'expired',
    });
    expect(verifyJwt(signJwt({ exp: inAnHour, nbf: inAnHour - 60 }, SECRET), SECRET, NOW)).toEqual({
      ok: false,
      reason: 'not_yet_valid',
    });
    expect(verifyJwt(signJwt({ exp: inAnHour }, `${SECRET}x`), SECRET, NOW)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('refuses tampered claims, alg "none", a token without exp and non-string symbols', () => {
    const token = signJwt({ exp: inAnHour, role: 'user' }, SECRET);
    const [header, , signature] = token.split('.');
    const adminClaims = Buffer.from(JSON.stringify({ exp: inAnHour, role: 'admin' })).toString('base64url');
    expect(verifyJwt(`${header}.${adminClaims}.${signature}`, SECRET, NOW)).toMatchObject({ ok: false });
    const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    expect(verifyJwt(`${none}.${adminClaims}.`, SECRET, NOW)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifyJwt(signJwt({ role: 'admin' } as never, SECRET), SECRET, NOW)).toEqual({
      ok: false,
      reason: 'malformed',
    });
    expect(verifyJwt(signJwt({ exp: inAnHour, symbols: [1] } as never, SECRET), SECRET, NOW)).toEqual({
      ok: false,
      reason: 'malformed',
    });
  });

  it('round-trips any claims and never throws on any string', () => {
    fc.assert(
      fc.property(
        fc.record({
          sub: fc.option(fc.string(), { nil: undefined }),
          symbols: fc.option(fc.array(fc.stringMatching(/^[A-Z]{1,5}$/)), { nil: undefined }),
          role: fc.constantFrom('user' as const, 'admin' as const),
        }),
        (claims) => {
          const result = verifyJwt(signJwt({ ...claims, exp: inAnHour }, SECRET), SECRET, NOW);
          expect(result.ok).toBe(true);
          if (result.ok) {
            expect(result.grant.role).toBe(claims.role);
            expect(result.grant.symbols && [...result.grant.symbols].sort()).toEqual(
              claims.symbols && [...new Set(claims.symbols)].sort(),
            );
          }
        },
      ),
    );
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), (a, b, c) => {
        expect(verifyJwt(`${a}.${b}.${c}`, SECRET, NOW).ok).toBe(false);
        expect(verifyJwt(a, SECRET, NOW).ok).toBe(false);
      }),
    );
  });
});

describe('TokenVerifier', () => {
  it('is off (everyone admin) without tokens or a secret', () => {
    const verifier = new TokenVerifier(authConfig({}));
    expect(verifier.enabled).toBe(false);
    expect(verifier.verify(undefined)).toEqual({ ok: true, grant: { role: 'admin' } });
  });

  it('matches static tokens with their role and symbols, and refuses others', () => {
    const verifier = new TokenVerifier(
      authConfig({
        tokens: [
          { token: 'user-token-0123456789', symbols: ['aapl'] },
          { token: 'admin-token-0123456789', role: 'admin', name: 'ops' },
        ],
      }),
    );
    expect(verifier.verify('user-token-0123456789')).toEqual({
      ok: true,
      grant: { role: 'user', symbols: new Set(['AAPL']) },
    });
    expect(verifier.verify('admin-token-0123456789')).toEqual({ ok: true, grant: { role: 'admin', subject: 'ops' } });
    expect(verifier.verify('user-token-012345678')).toEqual({ ok: false, reason: 'unknown_token' });
    expect(verifier.verify(undefined)).toEqual({ ok: false, reason: 'missing' });
    expect(verifier.verify('')).toEqual({ ok: false, reason: 'missing' });
    expect(verifier.verify(42)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifier.verify({ token: 'x' })).toEqual({ ok: false, reason: 'malformed' });
    expect(verifier.verify('x'.repeat(10_000))).toEqual({ ok: false, reason: 'malformed' });
  });

  it('verifies JWTs with the configured secret and lets anonymous in only when not required', () => {
    const strict = new TokenVerifier(authConfig({ jwtSecret: SECRET }), () => NOW);
    expect(strict.verify(signJwt({ exp: inAnHour }, SECRET))).toMatchObject({ ok: true, grant: { role: 'user' } });
    expect(strict.verify(signJwt({ exp: inAnHour - 7200 }, SECRET))).toEqual({ ok: false, reason: 'expired' });
    expect(strict.verify('not-a-jwt')).toEqual({ ok: false, reason: 'unknown_token' });
    const open = new TokenVerifier(authConfig({ jwtSecret: SECRET, required: false }), () => NOW);
    expect(open.verify(undefined)).toEqual({ ok: true, grant: { role: 'user', anonymous: true } });
    expect(open.verify('wrong')).toEqual({ ok: false, reason: 'unknown_token' });
  });

  it('names the bad field of an auth config', () => {
    expect(() => parseConfig({ auth: { jwtSecret: 'short' } })).toThrow(/auth\.jwtSecret: .*32/);
    expect(() => parseConfig({ auth: { tokens: [{ token: 'x' }] } })).toThrow(/auth\.tokens\.0\.token/);
    expect(() => parseConfig({ auth: { tokens: [{ token: 'x'.repeat(20), role: 'root' }] } })).toThrow(
      /auth\.tokens\.0\.role/,
    );
  });
});

describe('helpers', () => {
  it('bearerToken reads the token of an Authorization: Bearer header, any case of the scheme, and nothing else', () => {
    expect(bearerToken('Bearer abc.def')).toBe('abc.def');
    expect(bearerToken('bearer   abc ')).toBe('abc');
    expect(bearerToken('Basic dXNlcjpwYXNz')).toBeUndefined();
    expect(bearerToken('Bearer')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', 'Z', '0', '.', '-', '_', '~', '+', '/', '=') }), (token) => {
        expect(bearerToken(`Bearer ${token}`)).toBe(token === '' ? undefined : token);
      }),
    );
    fc.assert(
      fc.property(fc.string(), (header) => {
        const token = bearerToken(header);
        // Whatever it returns came from the header, and has no whitespace.
        if (token !== undefined) expect(header.includes(token) && !/\s/.test(token)).toBe(true);
      }),
    );
  });

  it('presentedToken reads auth.token, else a Bearer header', () => {
    expect(presentedToken({ auth: { token: 't1' }, headers: { authorization: 'Bearer t2' } })).toBe('t1');
    expect(presentedToken({ auth: {}, headers: { authorization: 'Bearer t2' } })).toBe('t2');
    expect(presentedToken({ auth: {}, headers: {} })).toBeUndefined();
  });
});
