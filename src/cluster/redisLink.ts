import { createClient, createCluster, ErrorReply } from 'redis';
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
import { backoffDelay } from '../retry.js';

/** A pub/sub listener as node-redis calls it (strings unless buffers were asked for). */
export type RedisListener = (message: string | Buffer, channel: string | Buffer) => void;

/**
 * The Redis commands tickstream uses, as both a single Redis client and a Redis Cluster client offer them
 * (the cluster client routes each to the node that owns the key or channel's slot).
 */
export type RedisCommands = {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, options?: { PX: number }): Promise<unknown>;
  del(key: string | string[]): Promise<number>;
  hSet(key: string, fields: Record<string, string>): Promise<number>;
  hmGet(key: string, fields: string[]): Promise<(string | null)[]>;
  hGetAll(key: string): Promise<Record<string, string>>;
  lRange(key: string, start: number, stop: number): Promise<string[]>;
  publish(channel: string, message: string): Promise<number>;
  sPublish(channel: string, message: string): Promise<number>;
  subscribe(channel: string, listener: RedisListener): Promise<void>;
  unsubscribe(channel: string, listener: RedisListener): Promise<void>;
  sSubscribe(channel: string, listener: RedisListener): Promise<void>;
  sUnsubscribe(channel: string, listener: RedisListener): Promise<void>;
};

type SingleClient = ReturnType<typeof createClient>;
type ClusterClient = ReturnType<typeof createCluster>;
/** One connection's client: a single Redis, or a Redis Cluster (the connections to its nodes). */
type Connection = { kind: 'single'; client: SingleClient } | { kind: 'cluster'; client: ClusterClient };

/** The configured Redis, as people write it in logs: its URL, or the cluster's first node and how many. */
export function describeRedis(config: Pick<ClusterConfig, 'redis'>): string {
  if (typeof config.redis === 'string') return config.redis;
  return `Redis Cluster ${config.redis[0]}${config.redis.length > 1 ? ` (+${config.redis.length - 1} nodes)` : ''}`;
}

function connection(config: ClusterConfig, logger: Logger, name: string, disableOfflineQueue: boolean): Connection {
  const socket = {
    connectTimeout: 2000,
    reconnectStrategy: (retries: number) =>
      backoffDelay(config.reconnect.initialMs, config.reconnect.maxMs, retries + 1),
  };
  // node-redis arms a 5 s timer (an AbortSignal) for every command by default: at thousands of publishes a
  // second that alone costs more than the publishing. Reads have their own deadline (RedisLink.read, and
  // `deadline` for the periodic ones); writes are never queued while Redis is down (no offline queue).
  const commandOptions = { timeout: 0 };
  const made: Connection =
    typeof config.redis === 'string'
      ? {
          kind: 'single',
          client: createClient({ url: config.redis, name, disableOfflineQueue, socket, commandOptions }),
        }
      : {
          kind: 'cluster',
          client: createCluster({
            rootNodes: config.redis.map((url) => ({ url })),
            defaults: { name, disableOfflineQueue, socket },
            commandOptions,
          }),
        };
  // Without a listener an 'error' event would end the process; the link's state shows it instead. One
  // warning per outage, not one per reconnection attempt.
  let reported = false;
  made.client.on('error', (err: Error) => {
    if (!reported) logger.warn({ err: err.message, client: name }, 'redis client error');
    reported = true;
  });
  made.client.on('ready', () => {
    reported = false;
  });
  return made;
}

/**
 * The commands of a connection as promises that never throw synchronously (the cluster client throws "The
 * client is offline" from the call itself). The cluster client also refuses subscriptions until it knows the
 * slots: with `connected`, every call waits for the first connection (the single client queues them itself).
 * Otherwise the command is issued at once, not from a microtask: the ingest publishes every quote through
 * here, and a promise and a microtask more per publish were a microsecond each.
 */
function commandsOf(client: RedisCommands, connected?: Promise<unknown>): RedisCommands {
  const call = <T>(run: () => Promise<T>): Promise<T> => {
    if (connected) return connected.then(run);
    try {
      return run();
    } catch (err) {
      return Promise.reject(err);
    }
  };
  return {
    get: (key) => call(() => client.get(key)),
    set: (key, value, options) => call(() => client.set(key, value, options)),
    del: (key) => call(() => client.del(key)),
    hSet: (key, fields) => call(() => client.hSet(key, fields)),
    hmGet: (key, fields) => call(() => client.hmGet(key, fields)),
    hGetAll: (key) => call(() => client.hGetAll(key)),
    lRange: (key, start, stop) => call(() => client.lRange(key, start, stop)),
    publish: (channel, message) => call(() => client.publish(channel, message)),
    sPublish: (channel, message) => call(() => client.sPublish(channel, message)),
    subscribe: (channel, listener) => call(() => client.subscribe(channel, listener)),
    unsubscribe: (channel, listener) => call(() => client.unsubscribe(channel, listener)),
    sSubscribe: (channel, listener) => call(() => client.sSubscribe(channel, listener)),
    sUnsubscribe: (channel, listener) => call(() => client.sUnsubscribe(channel, listener)),
  };
}

/** Resolves once a cluster connection has connected the first time (nothing for a single Redis). */
function firstConnect(conn: Connection): Promise<unknown> | undefined {
  if (conn.kind === 'single') return undefined;
  return new Promise((resolve) => conn.client.once('connect', resolve));
}

/** Whether a connection is ready, as it changes. A cluster client is ready once it knows the slots. */
function readiness$(conn: Connection): Observable<boolean> {
  const { client } = conn;
  if (conn.kind === 'cluster') {
    // The cluster client emits no 'ready' of its own for reconnects; its nodes' clients do, through 'node-*'.
    return merge(
      fromEvent(client, 'connect').pipe(map(() => true)),
      fromEvent(client, 'node-ready').pipe(map(() => conn.client.isReady)),
      fromEvent(client, 'node-reconnecting').pipe(map(() => false)),
      fromEvent(client, 'node-error').pipe(map(() => false)),
      fromEvent(client, 'disconnect').pipe(map(() => false)),
    ).pipe(startWith(client.isReady));
  }
  return merge(
    fromEvent(client, 'ready').pipe(map(() => true)),
    fromEvent(client, 'reconnecting').pipe(map(() => false)),
    fromEvent(client, 'error').pipe(map(() => false)),
    fromEvent(client, 'end').pipe(map(() => false)),
  ).pipe(startWith(client.isReady));
}

/**
 * The two Redis connections of a cluster role, to a single Redis or to a Redis Cluster. `command` publishes,
 * reads and writes, with no offline queue: while Redis is down a write fails at once (and is counted) instead
 * of piling up and bursting out stale on return. `sub` holds the subscriptions; it queues, and the client
 * restores them on reconnect.
 */
export class RedisLink {
  readonly up$: Observable<boolean>;
  readonly command: RedisCommands;
  readonly sub: RedisCommands;
  private up = false;
  private readonly watch;
  /** Each connection's first connect (open() starts them): close() lets one under way end. */
  private firstConnects: Promise<unknown>[] = [];
  /** Whether publishAll may use its script (until a Redis refuses scripts for this user). */
  private scripts = true;

  private constructor(
    private readonly commandConnection: Connection,
    private readonly subConnection: Connection,
    private readonly logger: Logger,
  ) {
    // Commands are not held back (the link says whether Redis is up); subscriptions wait for a cluster.
    this.command = commandsOf(commandConnection.client);
    this.sub = commandsOf(subConnection.client, firstConnect(subConnection));
    this.up$ = combineLatest([readiness$(commandConnection), readiness$(subConnection)]).pipe(
      map(([a, b]) => a && b),
      distinctUntilChanged(),
      shareReplay({ bufferSize: 1, refCount: false }),
    );
    // Up and down are logged once each way: nothing is said before the first connection is made.
    let seen = false;
    this.watch = this.up$.subscribe((up) => {
      this.up = up;
      if (up) logger.info('redis connected');
      else if (seen) logger.warn('redis unavailable');
      seen ||= up;
    });
  }

  /** Starts connecting (and reconnecting) in the background: a role starts even while Redis is down. */
  static open(config: ClusterConfig, logger: Logger): RedisLink {
    const link = new RedisLink(
      connection(config, logger, 'tickstream-cmd', true),
      connection(config, logger, 'tickstream-sub', false),
      logger,
    );
    link.firstConnects = [link.commandConnection, link.subConnection].map((conn) =>
      conn.client.connect().catch((err: unknown) => logger.error({ err }, 'redis connect failed')),
    );
    return link;
  }

  isUp(): boolean {
    return this.up;
  }

  /** The sharded channels matching `pattern` that have subscribers, on every primary of a cluster. */
  async shardChannels(pattern: string): Promise<string[]> {
    const conn = this.commandConnection;
    if (conn.kind === 'single') return conn.client.pubSubShardChannels(pattern);
    const perNode = await Promise.all(
      conn.client.masters.map(async (master) => (await conn.client.nodeClient(master)).pubSubShardChannels(pattern)),
    );
    return perNode.flat();
  }

  /**
   * SPUBLISHes each message to its channel, and says how many went out. On a single Redis as one script call:
   * one command, one reply and one write whatever their number, where a command each cost the ingest more than
   * the rest of its work. EVAL, not EVALSHA: Redis finds the script it has compiled by the body's SHA1, and a
   * NOSCRIPT (after a restart) resent later could overtake the calls sent after it. On a Redis Cluster, and on
   * a Redis that refuses scripts (an ACL without @scripting, a renamed EVAL), one by one, each to the node of
   * its channel's slot. Never rejects: a failure is in the outcome. At most PERIODIC_DEADLINE_MS.
   */
  async publishAll(messages: readonly (readonly [channel: string, message: string])[]): Promise<PublishOutcome> {
    const conn = this.commandConnection;
    if (conn.kind === 'single' && this.scripts) {
      const options = { keys: messages.map(([channel]) => channel), arguments: messages.map(([, message]) => message) };
      try {
        await withTimeout(conn.client.eval(PUBLISH_ALL, options), PERIODIC_DEADLINE_MS, 'publish');
        return { published: messages.length, failed: 0 };
      } catch (err) {
        if (!(err instanceof ErrorReply && SCRIPTS_REFUSED.test(err.message))) {
          return { published: 0, failed: messages.length, error: err };
        }
        this.scripts = false;
        this.logger.warn({ err: err.message }, 'redis refused the publishing script: publishing one command a quote');
      }
    }
    const sent = Promise.allSettled(messages.map(([channel, message]) => this.command.sPublish(channel, message)));
    try {
      const settled = await withTimeout(sent, PERIODIC_DEADLINE_MS, 'publish');
      const refused = settled.find((result) => result.status === 'rejected');
      const failed = settled.filter((result) => result.status === 'rejected').length;
      return { published: messages.length - failed, failed, ...(refused ? { error: refused.reason } : {}) };
    } catch (err) {
      return { published: 0, failed: messages.length, error: err };
    }
  }

  /** Replaces the list at `key` with `values` (oldest first), in one transaction. */
  async replaceList(key: string, values: readonly string[]): Promise<void> {
    const conn = this.commandConnection;
    const multi = conn.kind === 'single' ? conn.client.multi() : conn.client.multi(key);
    multi.del(key);
    if (values.length > 0) multi.rPush(key, [...values]);
    await multi.exec();
  }

  /** Sets the list's last element to `last`, appends `newer`, and keeps its newest `maxLength`, in one transaction. */
  async updateListTail(key: string, last: string, newer: readonly string[], maxLength: number): Promise<void> {
    const conn = this.commandConnection;
    const multi = conn.kind === 'single' ? conn.client.multi() : conn.client.multi(key);
    multi.lSet(key, -1, last);
    if (newer.length > 0) multi.rPush(key, [...newer]).lTrim(key, -maxLength, -1);
    await multi.exec();
  }

  /**
   * A read that degrades instead of failing its caller (an HTTP answer, a subscribe ack): `undefined` at once
   * while Redis is down, and when the read fails or takes longer than `timeoutMs`, which `onFailure` hears.
   */
  async read<T>(
    request: (command: RedisCommands) => Promise<T>,
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
    // node-redis leaves its socket open when closed in the middle of its handshake (a role that fails to start
    // closes a link it opened a moment ago): a first connect under way ends first, or a second passes (Redis down).
    await Promise.race([Promise.allSettled(this.firstConnects), closeDelay(1000)]);
    await Promise.all(
      [this.commandConnection, this.subConnection].map(async ({ client }) => {
        if (!client.isOpen) return;
        // A graceful close waits for pending replies; while Redis is down there are none to wait for.
        await Promise.race([client.close().catch(() => undefined), closeDelay(1000)]);
        if (client.isOpen) client.destroy();
      }),
    );
    this.logger.debug('redis closed');
  }
}

/** SPUBLISHes each of its KEYS (channels) with the ARGV at the same place. */
const PUBLISH_ALL = "for i = 1, #KEYS do redis.call('SPUBLISH', KEYS[i], ARGV[i]) end return #KEYS";

/** What a Redis that will not run scripts for this user answers (other errors, BUSY or LOADING, pass). */
const SCRIPTS_REFUSED = /^NOPERM|unknown command/i;

/** How many of a publishAll's messages went out, and why the others did not. */
export type PublishOutcome = { published: number; failed: number; error?: unknown };

/** How long a periodic command (a status or directory write, a demand poll) may take before the next one is tried. */
export const PERIODIC_DEADLINE_MS = 2000;

/**
 * `request`, or a rejection naming `what` once `ms` pass first: a read that waits on a stalled Redis must not
 * hang an HTTP answer, nor a periodic write hold up the ones after it.
 */
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

/** A bound on a wait in close() that does not itself hold the process open. */
function closeDelay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
