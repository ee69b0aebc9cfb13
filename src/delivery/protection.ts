import type { Server as HttpServer } from 'node:http';
import type { ServerOptions } from 'socket.io';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Status } from '../protocol.js';
import type { AccessPolicy } from './accessPolicy.js';
import { authMiddleware } from './auth.js';
import { ConnectionGuard } from './connectionLimits.js';
import { ConnectionDrain } from './drain.js';
import { queueCollected } from './engine.js';
import { SlowConsumerMonitor } from './slowConsumers.js';
import type { TierMembership } from './tierMembership.js';
import type { SnapshotSource, TickstreamServer } from './types.js';

/** What protection reads of the configuration. */
export type ProtectionConfig = {
  server: Pick<Config['server'], 'allowedOrigins'>;
  limits: Pick<Config['limits'], 'maxConnectionsPerIp' | 'slowConsumer'>;
  pipeline: Pick<Config['pipeline'], 'tiers'>;
};

export type ProtectionDeps = {
  config: ProtectionConfig;
  /** Who may connect (the handshake rule of the access policy). */
  access: AccessPolicy;
  metrics: Metrics;
  logger: Logger;
  status: () => Status;
  /** The last values, sent to a socket whose symbols move to another rate tier. */
  snapshots: SnapshotSource;
};

/**
 * What keeps one client from hurting the others or getting in uninvited, for any process that holds client
 * connections (the all-in-one server, a cluster gateway): admission (Origin allowlist, per-address cap),
 * the handshake's token (as the access policy rules), the slow-consumer monitor and a draining shutdown.
 *
 *   const protection = new ServerProtection(deps);
 *   const io = new Server(http, { ...options, ...protection.serverOptions() });
 *   protection.attach(io, http, membership);
 *   // on close, before io.close():
 *   await protection.shutdown(io);
 */
export class ServerProtection {
  private readonly guard: ConnectionGuard;
  private slowConsumers?: SlowConsumerMonitor;
  private drain?: ConnectionDrain;

  constructor(private readonly deps: ProtectionDeps) {
    const { config, metrics, logger } = deps;
    this.guard = new ConnectionGuard({
      allowedOrigins: config.server.allowedOrigins,
      maxConnectionsPerIp: config.limits.maxConnectionsPerIp,
      onRefused: (reason, req) => {
        metrics.connectionsRefused.inc({ reason });
        logger.warn({ reason, origin: req.headers.origin, address: req.socket.remoteAddress }, 'connection refused');
      },
    });
  }

  /** For `new Server(http, { ... })`: engine.io's admission hook, and CORS for the allowed origins' polling. */
  serverOptions(): Pick<Partial<ServerOptions>, 'allowRequest' | 'cors'> {
    const origins = this.deps.config.server.allowedOrigins;
    return { allowRequest: this.guard.allowRequest, ...(origins.length ? { cors: { origin: origins } } : {}) };
  }

  /** Auth middleware, per-address counting, connection tracking and the slow-consumer monitor. */
  attach(io: TickstreamServer, http: HttpServer, membership: TierMembership): void {
    const { config, access, metrics, logger, status } = this.deps;
    this.guard.track(io.engine);
    this.drain = new ConnectionDrain(http);
    io.use(
      authMiddleware((token) => access.handshake(token), {
        onRefused: (reason, socket) => {
          metrics.authFailures.inc({ reason });
          logger.warn({ reason, address: socket.handshake.address }, 'unauthorized connection refused');
        },
        onExpired: (socket) => {
          socket.data.closeReason = 'TOKEN_EXPIRED';
          socket.emit('status', { ...status(), closing: { code: 'TOKEN_EXPIRED', message: 'the token has expired' } });
          socket.disconnect(true);
        },
      }),
    );
    this.slowConsumers = new SlowConsumerMonitor(io, {
      config: config.limits.slowConsumer,
      tiers: config.pipeline.tiers,
      membership,
      metrics,
      logger,
      status,
      snapshots: this.deps.snapshots,
    });
    this.slowConsumers.start();
  }

  /**
   * Refuses new handshakes, tells every client the server is going, disconnects it ("io server disconnect"),
   * stops listening once the long-polling clients have polled for that, and waits up to `drainMs` in all for
   * the connections to flush and close, cutting what is left. Call before `io.close()`.
   */
  async shutdown(io: TickstreamServer, drainMs = 2000): Promise<void> {
    this.slowConsumers?.stop();
    this.guard.close();
    const sockets = [...io.of('/').sockets.values()];
    // `local`: with the Redis adapter a plain broadcast would reach, and disconnect, every gateway's clients.
    io.local.emit('status', {
      ...this.deps.status(),
      closing: { code: 'SHUTDOWN', message: 'the server is shutting down' },
    });
    io.local.disconnectSockets(true);
    await this.drain?.drain(drainMs, sockets.map(queueCollected));
  }
}
