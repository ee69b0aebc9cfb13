import { createClient } from 'redis';
import {
  combineLatest,
  distinctUntilChanged,
  fromEvent,
  map,
  merge,
  type Observable,
  shareReplay,
  startWith,
} from 'rxjs';
import type { ClusterConfig } from '../config/schema.js';
import type { Logger } from '../log.js';

function redisClient(config: ClusterConfig, logger: Logger, name: string, disableOfflineQueue: boolean) {
  const client = createClient({
    url: config.redisUrl,
    name,
    disableOfflineQueue,
    socket: {
      connectTimeout: 2000,
      reconnectStrategy: (retries: number) =>
        reconnectDelay(retries, config.reconnect.initialMs, config.reconnect.maxMs),
    },
  });
  // Without a listener an 'error' event would end the process; the link's state shows it instead. One
  // warning per outage, not one per reconnection attempt.
  let reported = false;
  client.on('error', (err: Error) => {
    if (!reported) logger.warn({ err: err.message, client: name }, 'redis client error');
    reported = true;
  });
  client.on('ready', () => {
    reported = false;
  });
  return client;
}

export type RedisClient = ReturnType<typeof redisClient>;

/** Exponential backoff with jitter, capped: what a client waits before its next reconnection attempt. */
export function reconnectDelay(retries: number, initialMs: number, maxMs: number): number {
  const base = Math.min(initialMs * 2 ** Math.min(retries, 20), maxMs);
  return Math.round(base / 2 + Math.random() * (base / 2));
}

function readiness$(client: RedisClient): Observable<boolean> {
  return merge(
    fromEvent(client, 'ready').pipe(map(() => true)),
    fromEvent(client, 'reconnecting').pipe(map(() => false)),
    fromEvent(client, 'error').pipe(map(() => false)),
    fromEvent(client, 'end').pipe(map(() => false)),
  ).pipe(startWith(client.isReady));
}

/**
 * The two Redis connections of a cluster role. `command` publishes, reads and writes, with no offline
 * queue: while Redis is down a write fails at once (and is counted) instead of piling up and bursting out
 * stale on return. `sub` holds the subscriptions; it queues, and the client restores them on reconnect.
 */
export class RedisLink {
  readonly up$: Observable<boolean>;
  private up = false;
  private readonly watch;

  private constructor(
    readonly command: RedisClient,
    readonly sub: RedisClient,
    private readonly logger: Logger,
  ) {
    this.up$ = combineLatest([readiness$(command), readiness$(sub)]).pipe(
      map(([a, b]) => a && b),
      distinctUntilChanged(),
      shareReplay({ bufferSize: 1, refCount: false }),
    );
    this.watch = this.up$.subscribe((up) => {
      this.up = up;
      if (up) logger.info('redis connected');
      else logger.warn('redis unavailable');
    });
  }

  /** Starts connecting (and reconnecting) in the background: a role starts even while Redis is down. */
  static open(config: ClusterConfig, logger: Logger): RedisLink {
    const link = new RedisLink(
      redisClient(config, logger, 'tickstream-cmd', true),
      redisClient(config, logger, 'tickstream-sub', false),
      logger,
    );
    for (const c of [link.command, link.sub]) {
      c.connect().catch((err: unknown) => logger.error({ err }, 'redis connect failed'));
    }
    return link;
  }

  isUp(): boolean {
    return this.up;
  }

  /**
   * A read that degrades instead of failing its caller (an HTTP answer, a subscribe ack): `undefined` at once
   * while Redis is down, and when the read fails or takes longer than `timeoutMs`, which `onFailure` hears.
   */
  async read<T>(
    request: (command: RedisClient) => Promise<T>,
    options: { what: string; timeoutMs: number; onFailure: (err: unknown) => void },
  ): Promise<T | undefined> {
    if (!this.up) return undefined;
    try {
      return await withTimeout(request(this.command), options.timeoutMs, options.what);
    } catch (err) {
      options.onFailure(err);
      return undefined;
    }
  }

  /** Resolves once both connections are ready (tests, startup logs). */
  ready(): Promise<void> {
    return new Promise((resolve) => {
      const s = this.up$.subscribe((up) => {
        if (!up) return;
        queueMicrotask(() => s.unsubscribe());
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    this.watch.unsubscribe();
    await Promise.all(
      [this.command, this.sub].map(async (c) => {
        if (!c.isOpen) return;
        // A graceful close waits for pending replies; while Redis is down there are none to wait for.
        const timeout = new Promise<void>((resolve) => setTimeout(resolve, 1000).unref());
        await Promise.race([c.close().catch(() => undefined), timeout]);
        if (c.isOpen) c.destroy();
      }),
    );
    this.logger.debug('redis closed');
  }
}

/**
 * The command client as the Socket.IO adapter's publisher, with every failed publish reported. The adapter
 * itself swallows publish errors; this is where they become a metric.
 */
export function reportingPublisher(client: RedisClient, onFailure: (err: unknown) => void): RedisClient {
  return new Proxy(client, {
    get(target, prop) {
      if (prop === 'sPublish' || prop === 'SPUBLISH') {
        return (channel: string, message: string | Buffer) =>
          target.sPublish(channel, message).catch((err: unknown) => {
            onFailure(err);
            throw err;
          });
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** The subscriber client as the adapter's, with every message it delivers counted. */
export function countingSubscriber(client: RedisClient, onMessage: () => void): RedisClient {
  return new Proxy(client, {
    get(target, prop) {
      if (prop === 'sSubscribe' || prop === 'SSUBSCRIBE') {
        return (channels: string | string[], listener: (message: Buffer, channel: Buffer) => void, buffers: true) =>
          target.sSubscribe(
            channels,
            (message: Buffer, channel: Buffer) => {
              onMessage();
              listener(message, channel);
            },
            buffers,
          );
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** `request`, or a rejection naming `what` once `ms` pass first: a read that waits on a stalled Redis must not hang an HTTP answer. */
export async function withTimeout<T>(request: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      request,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether a Redis answers a PING at `url` within a second (one connection, no retries). */
export async function redisAnswers(url: string): Promise<boolean> {
  const client = createClient({ url, socket: { connectTimeout: 1000, reconnectStrategy: false } });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
    return true;
  } catch {
    return false;
  } finally {
    if (client.isOpen) client.destroy();
  }
}
