import { asyncScheduler, interval, type SchedulerLike, type Subscription } from 'rxjs';
import type { SlowConsumerConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { rateTier } from '../pipeline/rateTier.js';
import type { Status } from '../protocol.js';
import { tierRoom } from './tierRooms.js';
import type { SnapshotSource, SocketData, TickstreamServer, TickstreamSocket } from './types.js';

/** The engine.io internals read here (not in its typings): its packet queue and the websocket under it. */
type EngineConnection = {
  writeBuffer?: { data?: unknown }[];
  transport?: { name?: string; socket?: { bufferedAmount?: number; terminate?: () => void } };
  close(discard?: boolean): void;
};

function byteSize(data: unknown): number {
  if (typeof data === 'string') return data.length; // pre-encoded JSON: ASCII but for names, close enough
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return data.byteLength;
  return 0;
}

/**
 * Bytes queued for a socket and not yet handed to the kernel: engine.io's packet queue (which grows while
 * the websocket has an unacknowledged write, or until a polling client polls again) plus the websocket's own
 * `bufferedAmount` (net.Socket's writable buffer and ws' frames not yet written).
 */
export function pendingBytes(socket: TickstreamSocket): number {
  const conn = socket.conn as unknown as EngineConnection;
  let bytes = 0;
  for (const packet of conn.writeBuffer ?? []) bytes += byteSize(packet.data);
  if (conn.transport?.name === 'websocket') bytes += conn.transport.socket?.bufferedAmount ?? 0;
  return bytes;
}

/** The tier a subscription at `hz` is delivered at: lowered while the socket is throttled. */
export function roomHz(data: Pick<SocketData, 'throttledHz'>, hz: number): number {
  return data.throttledHz === undefined ? hz : Math.min(hz, data.throttledHz);
}

export type SlowConsumerDeps = {
  config: SlowConsumerConfig;
  tiers: readonly number[];
  metrics: Metrics;
  logger: Logger;
  status: () => Status;
  /** The last values: a socket moved to another tier gets its symbols' current quotes at once. */
  snapshots?: SnapshotSource;
  scheduler?: SchedulerLike;
  now?: () => number;
};

/**
 * Looks at every socket's pending output on a timer (not per emit: the fan-out path stays untouched).
 * Past `throttleBytes` a socket's rooms move to the throttled tier and it gets `status.throttled: true`;
 * once it has stayed under `recoverBytes` for `recoverAfterMs` it is restored. Past `maxPendingBytes` it is
 * told why and cut, so one reader that stopped cannot hold more than about that much of the server's memory.
 */
export class SlowConsumerMonitor {
  private timer?: Subscription;
  private readonly calmSince = new WeakMap<TickstreamSocket, number>();
  private readonly throttledHz: number;

  constructor(
    private readonly io: TickstreamServer,
    private readonly deps: SlowConsumerDeps,
  ) {
    this.throttledHz = rateTier(deps.tiers, deps.config.throttledHz);
  }

  start(): void {
    this.timer ??= interval(this.deps.config.checkEveryMs, this.deps.scheduler ?? asyncScheduler).subscribe(() =>
      this.check(),
    );
  }

  stop(): void {
    this.timer?.unsubscribe();
    this.timer = undefined;
  }

  check(): void {
    const now = (this.deps.now ?? Date.now)();
    for (const socket of this.io.of('/').sockets.values()) {
      // One socket's failure must not stop the others from being checked.
      try {
        this.inspect(socket, now);
      } catch (err) {
        this.deps.logger.error({ err, socket: socket.id }, 'slow-consumer check failed');
      }
    }
  }

  private inspect(socket: TickstreamSocket, now: number): void {
    const { config } = this.deps;
    const bytes = pendingBytes(socket);
    if (bytes > config.maxPendingBytes) {
      this.cut(socket, bytes);
    } else if (socket.data.throttledHz === undefined) {
      if (bytes > config.throttleBytes) this.throttle(socket, bytes);
    } else if (bytes > config.recoverBytes) {
      this.calmSince.delete(socket);
    } else {
      const since = this.calmSince.get(socket);
      if (since === undefined) this.calmSince.set(socket, now);
      else if (now - since >= config.recoverAfterMs) this.restore(socket);
    }
  }

  private throttle(socket: TickstreamSocket, bytes: number): void {
    this.moveRooms(socket, this.throttledHz);
    this.calmSince.delete(socket);
    this.deps.metrics.slowConsumerActions.inc({ action: 'throttle' });
    this.deps.logger.warn({ socket: socket.id, pendingBytes: bytes, hz: this.throttledHz }, 'slow consumer throttled');
    socket.emit('status', { ...this.deps.status(), throttled: true });
  }

  private restore(socket: TickstreamSocket): void {
    this.moveRooms(socket, undefined);
    this.calmSince.delete(socket);
    this.deps.metrics.slowConsumerActions.inc({ action: 'restore' });
    this.deps.logger.info({ socket: socket.id }, 'slow consumer restored');
    socket.emit('status', { ...this.deps.status(), throttled: false });
  }

  private cut(socket: TickstreamSocket, bytes: number): void {
    const { config, metrics, logger } = this.deps;
    metrics.slowConsumerActions.inc({ action: 'disconnect' });
    logger.warn({ socket: socket.id, pendingBytes: bytes, cap: config.maxPendingBytes }, 'slow consumer disconnected');
    socket.data.closeReason = 'slow_consumer';
    socket.emit('status', {
      ...this.deps.status(),
      closing: {
        code: 'SLOW_CONSUMER',
        message: `more than ${config.maxPendingBytes} bytes queued: reading too slowly`,
      },
    });
    const conn = socket.conn as unknown as EngineConnection;
    socket.disconnect(true);
    // disconnect(true) waits for the queue to drain, which a stalled reader never does: drop it now.
    conn.close(true);
    conn.transport?.socket?.terminate?.();
  }

  /** Moves each subscription's room to the tier it is delivered at under `throttledHz` (none: as asked). */
  private moveRooms(socket: TickstreamSocket, throttledHz: number | undefined): void {
    const before = { throttledHz: socket.data.throttledHz };
    socket.data.throttledHz = throttledHz;
    const moved: string[] = [];
    for (const [symbol, hz] of socket.data.subscriptions) {
      const from = roomHz(before, hz);
      const to = roomHz(socket.data, hz);
      if (from === to) continue;
      // Join first: leaving first would drop the symbol's demand to zero for a moment if it is the only watcher.
      socket.join(tierRoom(symbol, to));
      socket.leave(tierRoom(symbol, from));
      moved.push(symbol);
    }
    if (moved.length > 0) this.resync(socket, moved);
  }

  /**
   * Sends the current quotes of symbols that just changed tier. A quote due on the old tier's next tick, or
   * already sent on the new tier before the socket joined, would otherwise not reach it until the symbol
   * ticks again (for a quiet symbol, maybe minutes). Clients keep the highest `seq`, so a repeat is harmless.
   */
  private resync(socket: TickstreamSocket, symbols: string[]): void {
    const { snapshots, logger } = this.deps;
    if (!snapshots) return;
    Promise.resolve()
      .then(() => snapshots.snapshot(symbols))
      .then(
        (quotes) => {
          if (quotes.length > 0 && socket.connected) socket.emit('ticks', quotes);
        },
        (err: unknown) => logger.warn({ err, socket: socket.id }, 'resync after a tier move failed'),
      );
  }
}
