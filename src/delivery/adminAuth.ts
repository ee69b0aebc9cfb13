import { randomBytes, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';
import type { Socket } from 'socket.io';
import type { AdminUiConfig } from '../config/schema.js';
import type { AccessPolicy } from './accessPolicy.js';
import { closeAtExpiry } from './auth.js';

/** How long an Admin UI login lasts (the UI reconnects with its session id instead of the password). */
const SESSION_MS = 12 * 60 * 60 * 1000;

export type AdminLoginFailure = 'missing' | 'invalid';

/** What the Admin UI sends in its handshake (`auth`): the login form's fields, or the session it was given. */
type AdminHandshake = { username?: unknown; password?: unknown; sessionId?: unknown };

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object';

/** Compares two strings in constant time for their length (a username is no secret, but costs nothing to hide). */
function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Who may open the Admin UI: the configured user with the password whose bcrypt hash is `passwordHash`, or
 * anyone whose password is an admin token (a static token with role `admin`, or an admin JWT). A login gets a
 * session id (sent as the `session` event, as @socket.io/admin-ui's own basic auth does), so the UI reconnects
 * without the password; a session ends after 12 hours, or when the admin JWT it came from expires.
 */
export class AdminLogin {
  private readonly sessions = new Map<string, number>();
  /** When each admitted socket's login ends, from its check until it is connected. */
  private readonly ends = new WeakMap<Socket, number>();

  constructor(
    private readonly config: Pick<AdminUiConfig, 'username' | 'passwordHash'>,
    /** The process's access policy: it decides which tokens are an admin's. */
    private readonly access: Pick<AccessPolicy, 'adminLogin'>,
    private readonly now: () => number = Date.now,
  ) {}

  /** Socket.IO middleware for the admin namespace (`io.of('/admin').use(...)`); `onRefused` hears each refusal. */
  middleware(onRefused?: (reason: AdminLoginFailure) => void): (socket: Socket, next: (err?: Error) => void) => void {
    return (socket, next) => {
      this.check(socket.handshake.auth).then(
        (result) => {
          if (typeof result === 'string') {
            onRefused?.(result);
            next(new Error('invalid credentials'));
            return;
          }
          // Before the CONNECT packet: the client keeps it until it is connected, then the UI stores it.
          if (result.sessionId) socket.emit('session', result.sessionId);
          this.ends.set(socket, result.expiresAt);
          next();
        },
        (err: unknown) => next(err instanceof Error ? err : new Error(String(err))),
      );
    };
  }

  /**
   * Ends a connected admin socket with its login, as a client's ends with its token: armed once it is connected
   * (`connection`), not in the middleware, where a client that leaves during the check would never disconnect
   * and its timer would hold it until the login ended.
   */
  endWithLogin(socket: Socket): void {
    const expiresAt = this.ends.get(socket);
    this.ends.delete(socket);
    closeAtExpiry(socket, expiresAt, () => socket.disconnect(true), this.now);
  }

  /**
   * A login: a new session id on a password or token login, none for a valid session, and when it ends
   * (epoch ms); why not, otherwise.
   */
  async check(handshake: unknown): Promise<{ sessionId?: string; expiresAt: number } | AdminLoginFailure> {
    const given: AdminHandshake = isRecord(handshake) ? handshake : {};
    const now = this.now();
    if (typeof given.sessionId === 'string') {
      const expires = this.sessions.get(given.sessionId);
      if (expires !== undefined && expires > now) return { expiresAt: expires };
      this.sessions.delete(given.sessionId);
    }
    const { password, username } = given;
    if (typeof password !== 'string' || password === '') return 'missing';
    const expiresAt = await this.expiryOf(typeof username === 'string' ? username : '', password, now);
    if (expiresAt === undefined) return 'invalid';
    this.forgetExpired(now);
    const sessionId = randomBytes(16).toString('hex');
    this.sessions.set(sessionId, expiresAt);
    return { sessionId, expiresAt };
  }

  /** When a login with these credentials should end; undefined when they are not an admin's. */
  private async expiryOf(username: string, password: string, now: number): Promise<number | undefined> {
    const { passwordHash } = this.config;
    if (passwordHash && sameText(username, this.config.username) && (await bcrypt.compare(password, passwordHash))) {
      return now + SESSION_MS;
    }
    const allowed = this.access.adminLogin(password);
    if (!allowed.ok) return undefined;
    return Math.min(now + SESSION_MS, allowed.grant?.expiresAt ?? Number.POSITIVE_INFINITY);
  }

  private forgetExpired(now: number): void {
    for (const [id, expires] of this.sessions) if (expires <= now) this.sessions.delete(id);
  }
}
