import { z } from 'zod';

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time "HH:MM"');
const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date "YYYY-MM-DD"');
const port = z.number().int().min(0).max(65535);

const simulatedFeed = z.strictObject({
  type: z.literal('simulated'),
  id: z.string().min(1).default('sim'),
  seed: z.number().int().default(42),
  /** Total ticks per second across all symbols during the open session. */
  ticksPerSecond: z.number().positive().max(1_000_000).default(300),
  /** Fraction of the open-session rate outside it (pre, post, closed). */
  offHoursFactor: z.number().min(0).max(1).default(0.2),
  /** How many symbols of the built-in universe to simulate (it has about 50; more are generated). */
  symbols: z.number().int().positive().max(100_000).optional(),
  intervalMs: z.number().int().min(1).max(1000).default(20),
});

const sseFeed = z.strictObject({
  type: z.literal('sse'),
  id: z.string().min(1),
  url: z.url(),
  format: z.enum(['tickstream', 'iex']).default('tickstream'),
  headers: z.record(z.string(), z.string()).default({}),
  maxLineBytes: z.number().int().positive().default(1_048_576),
  reconnect: z
    .strictObject({
      initialMs: z.number().int().positive().default(500),
      maxMs: z.number().int().positive().default(30_000),
    })
    .default({ initialMs: 500, maxMs: 30_000 }),
  /** Symbols the upstream serves, declared so clients can subscribe before its first tick. */
  symbols: z.array(z.string()).optional(),
  /** Reconnect when nothing (not even a comment) arrives for this long; off when absent. */
  idleTimeoutMs: z.number().int().positive().optional(),
});

const wsFeed = z
  .strictObject({
    type: z.literal('ws'),
    id: z.string().min(1),
    url: z.string().regex(/^wss?:\/\//, 'a ws:// or wss:// URL'),
    format: z.enum(['polygon', 'alpaca', 'finnhub', 'coinbase']),
    /** Polygon and Alpaca: the API key (Alpaca: with `secret`); Finnhub: the token. Coinbase's ticker needs none. */
    key: z.string().min(1).optional(),
    secret: z.string().min(1).optional(),
    /**
     * Symbols declared so clients can subscribe to them; upstream, the feed subscribes only to those someone
     * watches. Default: the built-in US listings (BTC-USD, ETH-USD, SOL-USD for coinbase).
     */
    symbols: z.array(z.string().min(1)).optional(),
    reconnect: z
      .strictObject({
        initialMs: z.number().int().positive().default(500),
        maxMs: z.number().int().positive().default(30_000),
      })
      .default({ initialMs: 500, maxMs: 30_000 }),
    /** No frame, heartbeat or pong for this long: the connection is dead and is replaced. */
    heartbeatTimeoutMs: z.number().int().min(100).default(30_000),
  })
  .superRefine((feed, ctx) => {
    // Name the missing credential in the config rather than fail later with the vendor's auth error.
    if (feed.format !== 'coinbase' && !feed.key) {
      ctx.addIssue({ code: 'custom', path: ['key'], message: `required for format "${feed.format}"` });
    }
    if (feed.format === 'alpaca' && !feed.secret) {
      ctx.addIssue({ code: 'custom', path: ['secret'], message: 'required for format "alpaca"' });
    }
  });

const pollFeed = z.strictObject({
  type: z.literal('poll'),
  id: z.string().min(1),
  url: z.url(),
  intervalMs: z.number().int().min(50).default(1000),
  format: z.enum(['tickstream', 'iex']).default('tickstream'),
  headers: z.record(z.string(), z.string()).default({}),
  /** A poll still unanswered after this long is aborted; the next interval tries again. */
  timeoutMs: z.number().int().positive().default(10_000),
  symbols: z.array(z.string()).optional(),
});

const replayFeed = z.strictObject({
  type: z.literal('replay'),
  id: z.string().min(1).default('replay'),
  /** A recording, or several played as one, merged by time. */
  file: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  speed: z.union([z.number().min(0.5).max(50), z.literal('max')]).default(1),
  loop: z.boolean().default(false),
  from: z.string().optional(),
  to: z.string().optional(),
  zone: z.string().default('America/New_York'),
  maxGapMs: z.number().int().positive().default(5000),
});

export const feedSchema = z.discriminatedUnion('type', [simulatedFeed, sseFeed, wsFeed, pollFeed, replayFeed]);

const configObject = z.strictObject({
  server: z
    .strictObject({
      host: z.string().min(1).default('0.0.0.0'),
      port: port.default(3000),
      transports: z
        .array(z.enum(['websocket', 'polling']))
        .min(1)
        .default(['websocket', 'polling']),
      /** Origins allowed to connect (browsers); empty means any. */
      allowedOrigins: z.array(z.string()).default([]),
      // Large enough that an oversized request (10,000 symbols) gets its LIMIT_EXCEEDED ack, small enough to bound memory.
      maxHttpBufferSize: z.number().int().positive().default(131_072),
      /** Serve the built dashboard from web/dist (and build it when missing). */
      dashboard: z.boolean().default(true),
      /** Socket.IO packet encoding; clients must use the same (`msgpack`: socket.io-msgpack-parser). */
      parser: z.enum(['json', 'msgpack']).default('json'),
    })
    .prefault({}),
  feeds: z
    .array(feedSchema)
    .min(1, 'at least one feed')
    .prefault([{ type: 'simulated' }]),
  /** Priority of feeds (by id) per symbol; '*' is the default order. */
  priority: z.record(z.string(), z.array(z.string())).default({}),
  /** A feed silent this long is stale and the next in priority takes over. */
  staleAfterMs: z.number().int().positive().default(5000),
  pipeline: z
    .strictObject({
      /** Rate tiers in Hz; a client's maxHz maps to the nearest tier at or below it. */
      tiers: z
        .array(z.number().positive().max(1000))
        .min(1)
        .default([1, 2, 4, 10, 20])
        .refine((t) => new Set(t).size === t.length, 'tiers must be distinct'),
      defaultHz: z.number().positive().default(4),
      /**
       * `throttle`: per symbol and tier, leading and trailing edges (lowest latency). `clock`: one clock per
       * tier, so each socket gets one frame per interval (cheapest fan-out, no leading edge).
       */
      conflation: z.enum(['throttle', 'clock']).default('throttle'),
      /**
       * `clock` mode: each tier's sockets are spread over this many evenly spaced phases of its interval, so
       * a tick writes to one lane's sockets instead of all of them (shorter bursts, lower tail latency).
       */
      lanes: z.number().int().min(1).max(100).default(4),
    })
    .prefault({}),
  limits: z
    .strictObject({
      maxSymbolsPerSocket: z.number().int().positive().default(500),
      maxSymbolsPerRequest: z.number().int().positive().default(500),
      requestsPerSecond: z.number().positive().default(20),
      requestBurst: z.number().int().positive().default(40),
      maxConnectionsPerIp: z.number().int().positive().default(10_000),
      /** Slow consumers: bytes a socket may have queued before it is throttled, and before it is cut. */
      slowConsumer: z
        .strictObject({
          checkEveryMs: z.number().int().min(10).default(250),
          throttleBytes: z.number().int().positive().default(262_144),
          maxPendingBytes: z.number().int().positive().default(1_048_576),
          /** Hz of the tier a throttled socket is moved to (the nearest configured tier at or below). */
          throttledHz: z.number().positive().default(1),
          /** Pending bytes under which a throttled socket is restored, after `recoverAfterMs` below it. */
          recoverBytes: z.number().int().nonnegative().default(16_384),
          recoverAfterMs: z.number().int().nonnegative().default(2000),
        })
        .refine((s) => s.throttleBytes < s.maxPendingBytes, 'throttleBytes must be under maxPendingBytes')
        .refine((s) => s.recoverBytes < s.throttleBytes, 'recoverBytes must be under throttleBytes')
        .prefault({}),
    })
    .prefault({}),
  /**
   * Who may connect. Off while there are no tokens and no jwtSecret. When on, a connection without a token
   * is refused unless `required` is false (it is then anonymous: all symbols, no admin controls).
   */
  auth: z
    .strictObject({
      required: z.boolean().default(true),
      tokens: z
        .array(
          z.strictObject({
            token: z.string().min(16, 'at least 16 characters'),
            role: z.enum(['user', 'admin']).default('user'),
            /** Symbols this token may subscribe to; all when absent. */
            symbols: z.array(z.string().min(1)).optional(),
            name: z.string().optional(),
          }),
        )
        .default([]),
      /** HMAC secret of HS256 JWTs (`tickstream token` mints them). */
      jwtSecret: z.string().min(32, 'at least 32 characters').optional(),
    })
    .prefault({}),
  market: z
    .strictObject({
      exchange: z.string().default('NYSE/Nasdaq'),
      zone: z.string().default('America/New_York'),
      preOpen: hhmm.default('04:00'),
      open: hhmm.default('09:30'),
      close: hhmm.default('16:00'),
      postClose: hhmm.default('20:00'),
      holidays: z.array(isoDate).default([]),
    })
    .prefault({}),
  /** Record the merged quote stream while serving (docs/PROTOCOL.md, recorded feed file). */
  record: z
    .strictObject({
      enabled: z.boolean().default(false),
      /** A `.ndjson` file, or `.ndjson.gz` for gzip; rotated files get `.1`, `.2`... before the extension. */
      out: z.string().min(1).default('recordings/session.ndjson.gz'),
      rotate: z
        .strictObject({
          maxBytes: z.number().int().positive().optional(),
          maxMinutes: z.number().positive().optional(),
        })
        .prefault({}),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    })
    .prefault({}),
  /** Past one process (docs/CLUSTER.md): `ingest` runs feeds and pipeline, `gateway` holds clients, over Redis. */
  cluster: z
    .strictObject({
      role: z.enum(['all', 'ingest', 'gateway']).default('all'),
      redisUrl: z
        .string()
        .regex(/^rediss?:\/\/./, 'a redis:// or rediss:// URL')
        .default('redis://127.0.0.1:6379'),
      /** Prefix of every Redis key and channel, so several deployments (or test runs) share one Redis. */
      keyPrefix: z
        .string()
        .regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits and _ . : -')
        .default('tickstream:'),
      /** Rooms ingest publishes: those some gateway has (`subscribed`), or every symbol at every tier (`all`). */
      publish: z.enum(['subscribed', 'all']).default('subscribed'),
      /** How often ingest re-reads the rooms gateways hold (new rooms are also announced at once). */
      demandPollMs: z.number().int().min(50).default(1000),
      /** Last values are written to Redis at most once per symbol per window. */
      lastValueWindowMs: z.number().int().min(1).max(5000).default(50),
      /** How often ingest writes the 1-minute bars that changed to Redis (gateways' /api/history). */
      historyWindowMs: z.number().int().min(100).max(60_000).default(2000),
      /** How long the ingest status in Redis stays valid without a refresh (gateways show feeds down after). */
      statusTtlMs: z.number().int().min(500).default(5000),
      reconnect: z
        .strictObject({
          initialMs: z.number().int().positive().default(100),
          maxMs: z.number().int().positive().default(3000),
        })
        .prefault({}),
    })
    .prefault({}),
});

/** Feeds are told apart by id (status, priority, metrics): ids are unique and priority lists name real ones. */
export const configSchema = configObject.superRefine((config, ctx) => {
  const ids = new Set<string>();
  for (const [i, feed] of config.feeds.entries()) {
    if (ids.has(feed.id))
      ctx.addIssue({ code: 'custom', path: ['feeds', i, 'id'], message: `"${feed.id}" is used twice` });
    ids.add(feed.id);
  }
  for (const [symbol, order] of Object.entries(config.priority)) {
    for (const [i, id] of order.entries()) {
      if (!ids.has(id))
        ctx.addIssue({ code: 'custom', path: ['priority', symbol, i], message: `no feed has id "${id}"` });
    }
  }
});

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type FeedConfig = z.infer<typeof feedSchema>;
export type SimulatedFeedConfig = z.infer<typeof simulatedFeed>;
export type SseFeedConfig = z.infer<typeof sseFeed>;
export type PollFeedConfig = z.infer<typeof pollFeed>;
export type WsFeedConfig = z.infer<typeof wsFeed>;
export type MarketCalendarConfig = Config['market'];
export type ClusterConfig = Config['cluster'];
export type AuthConfig = Config['auth'];
export type SlowConsumerConfig = Config['limits']['slowConsumer'];
