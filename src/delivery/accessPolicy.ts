/**
 * The access policy: who may use each entry point of a tickstream process, written as data (the tables
 * below, documented in docs/PROTOCOL.md, "Access"), and `decide`, the one function that applies a rule.
 * HTTP routes, the Socket.IO handshake and every socket event ask it, in every role.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { AuthConfig } from '../config/schema.js';
import type { ClientToServerEvents } from '../protocol.js';
import { bearerToken, TokenVerifier } from './auth.js';
import type { Access, AuthResult, Grant } from './types.js';

/**
 * Who may use an entry point while auth is on (`auth.tokens` or `auth.jwtSecret` set). With auth off every
 * credential is an admin grant, so every entry point is open to everyone.
 */
export type Audience =
  /** No token needed (a wrong one is ignored): liveness, readiness, the dashboard's files, how to connect. */
  | 'anyone'
  /** Whoever the handshake admits: a valid token, or none at all when `auth.required` is false. */
  | 'client'
  /** An admin token (`role: "admin"`). */
  | 'admin';

export type AccessRule = {
  readonly audience: Audience;
  /** `granted`: a token's `symbols` limit what the entry point serves (other symbols refused, lists filtered). */
  readonly symbols: 'all' | 'granted';
};

const OPEN: AccessRule = { audience: 'anyone', symbols: 'all' };
const CLIENT: AccessRule = { audience: 'client', symbols: 'all' };
const CLIENT_OWN_SYMBOLS: AccessRule = { audience: 'client', symbols: 'granted' };
const ADMIN: AccessRule = { audience: 'admin', symbols: 'all' };

/**
 * The HTTP routes of a process's main port (an ingest serves the first three only). `/admin-ui/*` is the
 * Admin UI's files (only with `server.adminUi`: its login is on the `/admin` namespace, not on its files);
 * `/*` is every other path: the dashboard's files. A route the code serves must be here: the router's
 * handlers are keyed by it.
 */
export const HTTP_ACCESS = {
  '/healthz': OPEN,
  '/readyz': OPEN,
  '/metrics': ADMIN,
  '/api/socket': OPEN,
  '/api/symbols': CLIENT_OWN_SYMBOLS,
  '/api/snapshot': CLIENT_OWN_SYMBOLS,
  '/api/history': CLIENT_OWN_SYMBOLS,
  '/admin-ui/*': OPEN,
  '/*': OPEN,
} as const satisfies Record<string, AccessRule>;
export type HttpRoute = keyof typeof HTTP_ACCESS;

/** Where the Admin UI's files are served (`/admin-ui/*`); the bare folder name redirects here. */
export const ADMIN_UI_PATH = '/admin-ui/';

const isRoute = (path: string): path is HttpRoute => Object.hasOwn(HTTP_ACCESS, path);

/**
 * The route a request path falls under: its own row, the Admin UI's folder, else `/*` (the dashboard's
 * files), except an unknown `/api/` path, which is none (a mistyped API call gets a JSON 404, not the
 * dashboard's page).
 */
export function routeOf(pathname: string): HttpRoute | undefined {
  if (isRoute(pathname)) return pathname;
  if (pathname.startsWith(ADMIN_UI_PATH) || pathname === ADMIN_UI_PATH.slice(0, -1)) return '/admin-ui/*';
  return pathname.startsWith('/api/') ? undefined : '/*';
}

/** `server.metricsPort`: /metrics alone, open, on an address of its own (its network placement is its guard). */
export const METRICS_PORT_ACCESS = { '/metrics': OPEN } as const satisfies Partial<Record<HttpRoute, AccessRule>>;

/** The Socket.IO handshake and every client-to-server event (the compiler requires a rule per event). */
export const SOCKET_ACCESS: { readonly [E in 'handshake' | keyof ClientToServerEvents]: AccessRule } = {
  handshake: CLIENT,
  subscribe: CLIENT_OWN_SYMBOLS,
  unsubscribe: CLIENT,
  symbols: CLIENT_OWN_SYMBOLS,
  replay: ADMIN,
};

/**
 * The Admin UI's namespace (`/admin`, with `server.adminUi`): its handshake is a login, the bcrypt password
 * (checked by adminAuth.ts) or an admin token as the password, with auth on or off.
 */
export const ADMIN_UI_LOGIN: AccessRule = ADMIN;

const everySymbol = () => true;

/** The policy's one decision: may a client holding `credential` use an entry point under `rule`? */
export function decide(rule: AccessRule, credential: AuthResult): Access {
  const grant = credential.ok ? credential.grant : undefined;
  if (rule.audience === 'anyone') return { ok: true, grant, mayWatch: everySymbol };
  if (!credential.ok) return { ok: false, refusal: { kind: 'unauthenticated', reason: credential.reason } };
  if (rule.audience === 'admin' && credential.grant.role !== 'admin') {
    // Without a token, the answer is "bring one" (401), as when a token is required; a token that does not
    // reach is refused (403).
    return credential.grant.anonymous
      ? { ok: false, refusal: { kind: 'unauthenticated', reason: 'missing' } }
      : { ok: false, refusal: { kind: 'forbidden', reason: 'not_admin' } };
  }
  const granted = rule.symbols === 'granted' ? credential.grant.symbols : undefined;
  return { ok: true, grant, mayWatch: granted ? (symbol) => granted.has(symbol) : everySymbol };
}

/** The policy over this process's `auth` config: credentials are verified here, then `decide` rules. */
export class AccessPolicy {
  private readonly verifier: TokenVerifier;

  constructor(auth: AuthConfig) {
    this.verifier = new TokenVerifier(auth);
  }

  /** An HTTP request: its `Authorization: Bearer` token against `rule` (a row of HTTP_ACCESS or METRICS_PORT_ACCESS). */
  http(rule: AccessRule, headers: IncomingHttpHeaders): Access {
    return decide(rule, this.verifier.verify(bearerToken(headers.authorization)));
  }

  /** The Socket.IO handshake's token (its grant is kept on the socket for the events). */
  handshake(token: unknown): Access {
    return decide(SOCKET_ACCESS.handshake, this.verifier.verify(token));
  }

  /**
   * An Admin UI login's password taken as a token (the `/admin` namespace, beside the bcrypt password): only a
   * configured admin token. With auth off there is none, as every credential would pass as an admin's.
   */
  adminLogin(password: string): Access {
    if (!this.verifier.enabled) return { ok: false, refusal: { kind: 'unauthenticated', reason: 'unknown_token' } };
    return decide(ADMIN_UI_LOGIN, this.verifier.verify(password));
  }

  /** A socket event, from the grant its handshake was admitted with. */
  event(event: keyof ClientToServerEvents, grant: Grant | undefined): Access {
    return decide(SOCKET_ACCESS[event], grant ? { ok: true, grant } : { ok: false, reason: 'missing' });
  }
}
