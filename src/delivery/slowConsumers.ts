import { asyncScheduler, interval, type SchedulerLike, type Subscription } from 'rxjs';
import type { SlowConsumerConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Status } from '../protocol.js';
import { pendingBytes, terminate } from './engine.js';
import { rateTier } from './rateTier.js';
import { slowConsumerVerdict } from './slowConsumerPolicy.js';
import type { TierMembership } from './tierMembership.js';
import type { SnapshotSource, TickstreamServer, TickstreamSocket } from './types.js';

export type SlowConsumerDeps = {
  config: SlowConsumerConfig;
  tiers: readonly number[];
  /** Who watches what: a throttled socket's subscriptions move to a lower tier there. */
  membership: TierMembership;
  metrics: Metrics;
  logger: Logger;
  status: () => Status;
  /** The last values: a socket moved to another tier gets its symbols' current quotes at once. */
  snapshots?: SnapshotSource;
  scheduler?: SchedulerLike;
  now?: () => number;
};

/**
 * Looks at every socket's pending output on a timer (not per emit: the fan-out path stays untouched), and
 * applies the policy's verdict (slowConsumerPolicy.ts). Past `throttleBytes` a socket's subscriptions move to
 * the throttled tier and it gets `status.throttled: true`; once it has stayed under `recoverBytes` for
 * `recoverAfterMs` it is restored. Past `maxPendingBytes` it is told why and cut, so one reader that stopped
 * cannot hold more than about that much of the server's memory.
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
    const bytes = pendingBytes(socket);
    const verdict = slowConsumerVerdict(
      this.deps.config,
      {
        pendingBytes: bytes,
        throttled: this.deps.membership.isThrottled(socket),
        calmSince: this.calmSince.get(socket),
      },
      now,
    );
    switch (verdict.action) {
      case 'cut':
        this.cut(socket, bytes);
        break;
      case 'throttle':
        this.throttle(socket, bytes);
        break;
      case 'restore':
        this.restore(socket);
        break;
      case 'calm':
        this.calmSince.set(socket, verdict.since);
        break;
      case 'busy':
        this.calmSince.delete(socket);
        break;
      case 'none':
        break;
    }
  }

  private throttle(socket: TickstreamSocket, bytes: number): void {
    this.moveTier(socket, this.throttledHz);
    this.calmSince.delete(socket);
    this.deps.metrics.slowConsumerActions.inc({ action: 'throttle' });
    this.deps.logger.warn({ socket: socket.id, pendingBytes: bytes, hz: this.throttledHz }, 'slow consumer throttled');
    socket.emit('status', { ...this.deps.status(), throttled: true });
  }

  private restore(socket: TickstreamSocket): void {
    this.moveTier(socket, undefined);
    this.calmSince.delete(socket);
    this.deps.metrics.slowConsumerActions.inc({ action: 'restore' });
    this.deps.logger.info({ socket: socket.id }, 'slow consumer restored');
    socket.emit('status', { ...this.deps.status(), throttled: false });
  }

  private cut(socket: TickstreamSocket, bytes: number): void {
    const { config, metrics, logger } = this.deps;
    metrics.slowConsumerActions.inc({ action: 'disconnect' });
    logger.warn({ socket: socket.id, pendingBytes: bytes, cap: config.maxPendingBytes }, 'slow consumer disconnected');
    socket.data.closeReason = 'SLOW_CONSUMER';
    socket.emit('status', {
      ...this.deps.status(),
      closing: {
        code: 'SLOW_CONSUMER',
        message: `more than ${config.maxPendingBytes} bytes queued: reading too slowly`,
      },
    });
    socket.disconnect(true);
    // disconnect(true) waits for the queue to drain, which a stalled reader never does: drop it now.
    terminate(socket);
  }

  /** Holds the socket's subscriptions at `throttledHz` at most (none: as asked), and resyncs what moved. */
  private moveTier(socket: TickstreamSocket, throttledHz: number | undefined): void {
    const moved = this.deps.membership.throttle(socket, throttledHz);
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
