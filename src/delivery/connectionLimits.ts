import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

export type RefusalReason = 'origin' | 'ip_limit' | 'shutdown';

const REFUSAL_MESSAGES: Record<RefusalReason, string> = {
  origin: 'origin not allowed',
  ip_limit: 'too many connections from this address',
  shutdown: 'the server is shutting down',
};

export type ConnectionGuardOptions = {
  /** Origins allowed to connect; empty means any. */
  allowedOrigins: readonly string[];
  maxConnectionsPerIp: number;
  onRefused?: (reason: RefusalReason, req: IncomingMessage) => void;
};

/** The engine.io objects this guard listens to (engine.io's own types are not exported by socket.io). */
type EngineLike = {
  on(event: 'connection', listener: (conn: EngineConnection) => void): unknown;
};
type EngineConnection = {
  remoteAddress: string;
  on(event: 'close', listener: (this: EngineConnection) => void): unknown;
};

/** An IPv4 client on a dual-stack listener shows as `::ffff:a.b.c.d`: counted as `a.b.c.d`. */
function unmapped(address: string | undefined): string {
  if (!address) return 'unknown';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

function clientAddress(req: IncomingMessage): string {
  return unmapped(req.socket.remoteAddress);
}

function normalizeOrigin(origin: string): string {
  return origin.trim().replace(/\/+$/, '').toLowerCase();
}

/**
 * Admission before any Socket.IO handshake, as engine.io's `allowRequest` (which runs for the polling and
 * the websocket transports alike): the Origin allowlist, because browsers apply no CORS to websockets, and a
 * cap on connections per client address.
 */
export class ConnectionGuard {
  private readonly origins: Set<string>;
  private readonly perIp = new Map<string, number>();
  private closing = false;

  constructor(private readonly options: ConnectionGuardOptions) {
    this.origins = new Set(options.allowedOrigins.map(normalizeOrigin));
  }

  /**
   * No Origin header means no browser page asked (or a same-origin GET, which browsers send without one);
   * a page of this server's own origin (same Host) is always allowed so the dashboard keeps working.
   */
  originAllowed(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (this.origins.size === 0 || this.origins.has('*') || origin === undefined) return true;
    if (this.origins.has(normalizeOrigin(origin))) return true;
    try {
      return new URL(origin).host === req.headers.host;
    } catch {
      return false;
    }
  }

  connectionsFrom(address: string): number {
    return this.perIp.get(address) ?? 0;
  }

  readonly allowRequest = (req: IncomingMessage, callback: (err: string | null, success: boolean) => void): void => {
    if (this.closing) this.refuse('shutdown', req, callback);
    else if (!this.originAllowed(req)) this.refuse('origin', req, callback);
    else if (this.connectionsFrom(clientAddress(req)) >= this.options.maxConnectionsPerIp) {
      this.refuse('ip_limit', req, callback);
    } else callback(null, true);
  };

  /**
   * Refuses every handshake from now on (the server is shutting down): a client told to go must not get back
   * in while the others drain. Connections already open go on (a polling client still polls for its last packets).
   */
  close(): void {
    this.closing = true;
  }

  /** Counts open engine.io connections per address (a polling-then-websocket client is one connection). */
  track(engine: EngineLike): void {
    const perIp = this.perIp;
    // One listener for every connection, reading it from `this`: a closure and a once-wrapper per connection
    // would live as long as it. engine.io keeps the address the connection came from; 'close' fires once.
    const release = function (this: EngineConnection): void {
      const address = unmapped(this.remoteAddress);
      const left = (perIp.get(address) ?? 0) - 1;
      if (left > 0) perIp.set(address, left);
      else perIp.delete(address);
    };
    engine.on('connection', (conn) => {
      const address = unmapped(conn.remoteAddress);
      perIp.set(address, this.connectionsFrom(address) + 1);
      conn.on('close', release);
    });
  }

  private refuse(
    reason: RefusalReason,
    req: IncomingMessage,
    callback: (err: string | null, success: boolean) => void,
  ): void {
    this.options.onRefused?.(reason, req);
    const message = REFUSAL_MESSAGES[reason];
    // Node marks a websocket upgrade request (`upgrade`, missing from its typings).
    if ('upgrade' in req && req.upgrade === true) refuseUpgrade(req.socket, message);
    callback(message, false);
  }
}

/**
 * Answers a refused websocket upgrade `403` with the body polling gets (engine.io's FORBIDDEN, code 4), as the
 * protocol says: engine.io would answer every refused upgrade `400`. Ended here, the socket is no longer
 * writable, so engine.io only lets it go.
 */
function refuseUpgrade(socket: Duplex, message: string): void {
  if (!socket.writable) return;
  const body = JSON.stringify({ code: 4, message });
  socket.end(
    `HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
