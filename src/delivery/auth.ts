import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { AuthConfig } from '../config/schema.js';
import { normalizeSymbol } from '../protocol.js';
import type { Access, AuthResult, Grant, Refusal, TickstreamSocket } from './types.js';

export type JwtClaims = {
  sub?: string;
  exp: number;
  iat?: number;
  nbf?: number;
  role?: 'user' | 'admin';
  symbols?: string[];
};

const JWT_HEADER = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));

function base64url(text: string | Buffer): string {
  return Buffer.from(text).toString('base64url');
}

function hmac(secret: string, data: string): Buffer {
  return createHmac('sha256', secret).update(data).digest();
}

/** Mints an HS256 JWT (RFC 7519) with node:crypto. */
export function signJwt(claims: JwtClaims, secret: string): string {
  const body = `${JWT_HEADER}.${base64url(JSON.stringify(claims))}`;
  return `${body}.${hmac(secret, body).toString('base64url')}`;
}

function parseJson(segment: string): unknown {
  try {
    return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Verifies an HS256 JWT: only `alg: HS256` is accepted (never `none` or another algorithm the token picks),
 * the signature is compared in constant time, `exp` is required and `nbf` honoured.
 */
export function verifyJwt(token: string, secret: string, now = Date.now()): AuthResult {
  const parts = token.split('.');
  if (parts.length !== 3) return { ok: false, reason: 'malformed' };
  const [header, payload, signature] = parts as [string, string, string];
  const head = parseJson(header);
  if (!isRecord(head) || head.alg !== 'HS256') return { ok: false, reason: 'malformed' };
  const expected = hmac(secret, `${header}.${payload}`);
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'bad_signature' };
  }
  const claims = parseJson(payload);
  if (!isRecord(claims) || typeof claims.exp !== 'number' || !Number.isFinite(claims.exp)) {
    return { ok: false, reason: 'malformed' };
  }
  if (claims.exp * 1000 <= now) return { ok: false, reason: 'expired' };
  if (typeof claims.nbf === 'number' && claims.nbf * 1000 > now) return { ok: false, reason: 'not_yet_valid' };
  const symbols = claims.symbols;
  if (symbols !== undefined && !(Array.isArray(symbols) && symbols.every((s) => typeof s === 'string'))) {
    return { ok: false, reason: 'malformed' };
  }
  const grant: Grant = { role: claims.role === 'admin' ? 'admin' : 'user', expiresAt: claims.exp * 1000 };
  if (symbols) grant.symbols = new Set(symbols.map(normalizeSymbol));
  if (typeof claims.sub === 'string') grant.subject = claims.sub;
  return { ok: true, grant };
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/**
 * The grants that do not depend on a token: one object each for every socket, which keeps its grant for its
 * whole life (frozen, as they are shared).
 */
const OPEN_GRANT: Grant = Object.freeze({ role: 'admin' });
const ANONYMOUS_GRANT: Grant = Object.freeze({ role: 'user', anonymous: true });

/**
 * Checks handshake tokens against the `auth` config: the static list first (compared as SHA-256 digests
 * with timingSafeEqual, over every entry, so timing tells nothing of which or how much matched), then as a
 * JWT when a secret is set.
 */
export class TokenVerifier {
  private readonly staticTokens: { digest: Buffer; grant: Grant }[];

  constructor(
    private readonly config: AuthConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.staticTokens = config.tokens.map((entry) => {
      const grant: Grant = { role: entry.role };
      if (entry.symbols) grant.symbols = new Set(entry.symbols.map(normalizeSymbol));
      if (entry.name) grant.subject = entry.name;
      return { digest: digest(entry.token), grant };
    });
  }

  /** Auth is on once any token or a JWT secret is configured. */
  get enabled(): boolean {
    return this.staticTokens.length > 0 || this.config.jwtSecret !== undefined;
  }

  verify(token: unknown): AuthResult {
    if (!this.enabled) return { ok: true, grant: OPEN_GRANT };
    if (token === undefined || token === null || token === '') {
      return this.config.required ? { ok: false, reason: 'missing' } : { ok: true, grant: ANONYMOUS_GRANT };
    }
    if (typeof token !== 'string' || token.length > 8192) return { ok: false, reason: 'malformed' };
    const given = digest(token);
    let match: Grant | undefined;
    for (const entry of this.staticTokens) {
      if (timingSafeEqual(given, entry.digest) && !match) match = entry.grant;
    }
    if (match) return { ok: true, grant: match };
    if (this.config.jwtSecret && token.split('.').length === 3) {
      return verifyJwt(token, this.config.jwtSecret, this.now());
    }
    return { ok: false, reason: 'unknown_token' };
  }
}

/** The token of an `Authorization: Bearer <token>` header (the scheme is case-insensitive, RFC 7235). */
export function bearerToken(header: unknown): string | undefined {
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** The token a client presents: Socket.IO's handshake `auth.token`, or an `Authorization: Bearer` header. */
export function presentedToken(handshake: { auth: unknown; headers: Record<string, unknown> }): unknown {
  if (isRecord(handshake.auth) && 'token' in handshake.auth) return handshake.auth.token;
  return bearerToken(handshake.headers.authorization);
}

/** setTimeout's longest delay; a grant that outlives it is not timed (about 24 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Calls `onExpired` when the credential a socket was admitted with expires (`expiresAt`, epoch ms; none: never),
 * unless the socket goes first: every namespace's connections end with their credential.
 */
export function closeAtExpiry(
  socket: { once(event: 'disconnect', listener: () => void): unknown },
  expiresAt: number | undefined,
  onExpired: () => void,
  now: () => number = Date.now,
): void {
  const delay = expiresAt === undefined ? MAX_TIMER_MS : expiresAt - now();
  if (delay >= MAX_TIMER_MS) return;
  const timer = setTimeout(onExpired, Math.max(0, delay));
  socket.once('disconnect', () => clearTimeout(timer));
}

/**
 * Socket.IO middleware (`io.use`): the handshake token must be admitted (the access policy's handshake rule),
 * or the connection fails with `connect_error` "unauthorized" (`data.reason` says why). It also runs when a
 * connection is recovered, as long as `connectionStateRecovery.skipMiddlewares` stays false. A socket whose
 * grant expires is closed then.
 */
export function authMiddleware(
  admit: (token: unknown) => Access,
  hooks: {
    onRefused?: (reason: Refusal['reason'], socket: TickstreamSocket) => void;
    onExpired?: (socket: TickstreamSocket) => void;
  },
): (socket: TickstreamSocket, next: (err?: Error) => void) => void {
  return (socket, next) => {
    const access = admit(presentedToken(socket.handshake));
    if (!access.ok) {
      const { reason } = access.refusal;
      hooks.onRefused?.(reason, socket);
      next(Object.assign(new Error('unauthorized'), { data: { reason } }));
      return;
    }
    socket.data.grant = access.grant;
    closeAtExpiry(socket, access.grant?.expiresAt, () => hooks.onExpired?.(socket));
    next();
  };
}
