import { z } from 'zod';
import { calendarDate, minutesOf, origin, replayTime, symbolName, timeOfDay, timeZone, urlWith } from './fields.js';

const port = z.number().int().min(0).max(65535);
const redisUrl = urlWith(['redis', 'rediss']);
const httpUrl = urlWith(['http', 'https']);

/** Whether two times of day are in order; true when either is not a time (its own issue says so). */
const inOrder = (a: string, b: string, ordered: (a: number, b: number) => boolean) =>
  !timeOfDay.safeParse(a).success || !timeOfDay.safeParse(b).success || ordered(minutesOf(a), minutesOf(b));

/** Addresses that take every interface: a listener there and any other on the same port collide. */
const ANY_INTERFACE = new Set(['0.0.0.0', '::']);

/** Whether `metricsPort` on `metricsHost` is the very address the main listener takes. */
const sameAddress = (server: { host: string; port: number; metricsHost: string }, metricsPort: number) =>
  metricsPort === server.port &&
  (server.host === server.metricsHost || ANY_INTERFACE.has(server.host) || ANY_INTERFACE.has(server.metricsHost));

/** The server port a refinement saw (its `input` is typed unknown). */
const serverPort = (input: unknown) => z.object({ port: z.number() }).parse(input).port;

/** The market times a refinement saw (its `input` is typed unknown). */
const sessionTimes = (input: unknown) => z.object({ open: z.string(), close: z.string() }).parse(input);
const earlyTimes = (input: unknown) => {
  const m = z
    .object({ earlyClose: z.string(), earlyCloses: z.array(z.string()), holidays: z.array(z.string()) })
    .parse(input);
  return {
    earlyClose: m.earlyClose,
    clash: m.earlyCloses.find((day) => m.holidays.includes(day)),
    weekend: m.earlyCloses.find(isWeekend),
  };
};
/** Whether a calendar date ("YYYY-MM-DD") is a Saturday or a Sunday (the session calendar's weekend). */
const isWeekend = (day: string) => {
  const weekday = new Date(`${day}T12:00:00Z`).getUTCDay();
  return weekday === 0 || weekday === 6;
};

/** Reconnection backoff of a feed or of Redis: the first delay may not exceed the ceiling. */
const backoff = (initialMs: number, maxMs: number) =>
  z
    .strictObject({
      initialMs: z.number().int().positive().default(initialMs),
      maxMs: z.number().int().positive().default(maxMs),
    })
    .refine((b) => b.initialMs <= b.maxMs, { path: ['initialMs'], message: 'expected at most maxMs' })
    .prefault({});

/** The Socket.IO Admin UI (README, "Operating it"): off unless enabled, and only with admin credentials. */
const adminUi = z.strictObject({
  enabled: z.boolean().default(true),
  /** The login name that goes with `passwordHash`. */
  username: z.string().min(1).default('admin'),
  /** A bcrypt hash of the login password. Admin tokens (auth.tokens, admin JWTs) are accepted as the password too. */
  passwordHash: z
    .string()
    .regex(/^\$2[aby]?\$\d{2}\$[./A-Za-z0-9]{53}$/, 'a bcrypt hash such as $2b$10$...')
    .optional(),
  /** `development`: every socket, its rooms and events; `production`: aggregate counts only, cheaper at scale. */
  mode: z.enum(['development', 'production']).default('development'),
  /** Look only: the UI may not disconnect sockets, move them between rooms or emit to them. */
  readonly: z.boolean().default(true),
});

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
  url: httpUrl,
  format: z.enum(['tickstream', 'iex']).default('tickstream'),
  headers: z.record(z.string(), z.string()).default({}),
  maxLineBytes: z.number().int().positive().default(1_048_576),
  reconnect: backoff(500, 30_000),
  /** Symbols the upstream serves, declared so clients can subscribe before its first tick. */
  symbols: z.array(symbolName).optional(),
  /** Reconnect when nothing (not even a comment) arrives for this long; off when absent. */
  idleTimeoutMs: z.number().int().positive().optional(),
});

const wsFeed = z
  .strictObject({
    type: z.literal('ws'),
    id: z.string().min(1),
    url: urlWith(['ws', 'wss']),
    format: z.enum(['polygon', 'alpaca', 'finnhub', 'coinbase', 'binance', 'kraken']),
    /** Polygon and Alpaca: the API key (Alpaca: with `secret`); Finnhub: the token. Coinbase, Binance, Kraken: none. */
    key: z.string().min(1).optional(),
    secret: z.string().min(1).optional(),
    /**
     * Symbols declared so clients can subscribe to them; upstream, the feed subscribes only to those someone
     * watches. Default: a few well-known ones (the built-in US listings; BTC, ETH and SOL for the crypto vendors),
     * and then the vendor's own list where it publishes one (Binance, Coinbase, Kraken).
     */
    symbols: z.array(symbolName).optional(),
    /** Where Binance and Coinbase list their symbols (exchangeInfo, /products); the vendor's own by default. */
    symbolsUrl: urlWith(['http', 'https']).optional(),
    /** Polygon/Massive: the channels of each symbol: trades T, quotes Q, aggregates per second A, per minute AM. */
    channels: z
      .array(z.enum(['T', 'Q', 'A', 'AM']))
      .min(1)
      .optional(),
    reconnect: backoff(500, 30_000),
    /** No frame, heartbeat or pong for this long: the connection is dead and is replaced. */
    heartbeatTimeoutMs: z.number().int().min(100).default(30_000),
  })
  .superRefine((feed, ctx) => {
    // Name the missing credential in the config rather than fail later with the vendor's auth error.
    if ((feed.format === 'polygon' || feed.format === 'alpaca' || feed.format === 'finnhub') && !feed.key) {
      ctx.addIssue({ code: 'custom', path: ['key'], message: `required for format "${feed.format}"` });
    }
    if (feed.format === 'alpaca' && !feed.secret) {
      ctx.addIssue({ code: 'custom', path: ['secret'], message: 'required for format "alpaca"' });
    }
    if (feed.channels && feed.format !== 'polygon') {
      ctx.addIssue({ code: 'custom', path: ['channels'], message: 'only for format "polygon"' });
    }
    if (feed.symbolsUrl && feed.format !== 'binance' && feed.format !== 'coinbase') {
      ctx.addIssue({ code: 'custom', path: ['symbolsUrl'], message: 'only for formats "binance" and "coinbase"' });
    }
  });

const pollFeed = z.strictObject({
  type: z.literal('poll'),
  id: z.string().min(1),
  url: httpUrl,
  intervalMs: z.number().int().min(50).default(1000),
  format: z.enum(['tickstream', 'iex']).default('tickstream'),
  headers: z.record(z.string(), z.string()).default({}),
  /** A poll still unanswered after this long is aborted; the next interval tries again. */
  timeoutMs: z.number().int().positive().default(10_000),
  symbols: z.array(symbolName).optional(),
});

const replayFeed = z.strictObject({
  type: z.literal('replay'),
  id: z.string().min(1).default('replay'),
  /** A recording, or several played as one, merged by time. */
  file: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)], {
    error: 'expected a recording file, or a non-empty list of them',
  }),
  speed: z
    .union([z.number().min(0.5).max(50), z.literal('max')], { error: 'expected a number from 0.5 to 50, or "max"' })
    .default(1),
  loop: z.boolean().default(false),
  from: replayTime.optional(),
  to: replayTime.optional(),
  /** The zone of `from` and `to` when they are times of day. */
  zone: timeZone.default('America/New_York'),
  maxGapMs: z.number().int().positive().default(5000),
});

const feedSchema = z.discriminatedUnion('type', [simulatedFeed, sseFeed, wsFeed, pollFeed, replayFeed]);

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
      allowedOrigins: z.array(origin).default([]),
      // Large enough that an oversized request (10,000 symbols) gets its LIMIT_EXCEEDED ack, small enough to bound memory.
      maxHttpBufferSize: z.number().int().positive().default(131_072),
      /** Serve the built dashboard from web/dist (and build it when missing). */
      dashboard: z.boolean().default(true),
      /** Socket.IO packet encoding; clients must use the same (`msgpack`: socket.io-msgpack-parser). */
      parser: z.enum(['json', 'msgpack']).default('json'),
      /**
       * Serve /metrics on this port of its own instead of the main one, open there (no token): for a scraper on
       * a private network. Absent: /metrics is on the main port, for admin tokens while auth is on.
       */
      metricsPort: port.optional(),
      /** The interface of `metricsPort`: loopback unless told. */
      metricsHost: z.string().min(1).default('127.0.0.1'),
      /** `true` for the defaults, or the Admin UI's settings. */
      // `true` and `false` stand for `{ enabled }`: read as the object, so a bad setting is named field by field.
      adminUi: z
        .preprocess((value) => (typeof value === 'boolean' ? { enabled: value } : value), adminUi)
        .prefault(false),
    })
    // Two listeners on one port of one interface: start-up would die of EADDRINUSE, naming no setting.
    .refine((s) => s.metricsPort === undefined || s.metricsPort === 0 || !sameAddress(s, s.metricsPort), {
      path: ['metricsPort'],
      error: ({ input }) => `expected a port other than server.port (${serverPort(input)}) on the same interface`,
    })
    .prefault({}),
  feeds: z
    .array(feedSchema)
    .min(1, 'at least one feed')
    .prefault([{ type: 'simulated' }]),
  /** Priority of feeds (by id) per symbol; '*' is the default order. */
  priority: z
    .record(
      z.string().refine((key) => key === '*' || symbolName.safeParse(key).success, 'expected "*" or a symbol'),
      z.array(z.string()),
    )
    .default({}),
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
      /** Within the tiers (it maps to the highest tier at or below it). */
      defaultHz: z.number().positive().default(4),
      /**
       * Each tier's sockets are spread over this many evenly spaced phases of its interval, so a tick writes
       * to one lane's sockets instead of all of them (shorter bursts, lower tail latency).
       */
      lanes: z.number().int().min(1).max(100).default(4),
      /**
       * A quote that ends a silence of at least this long goes out at once instead of at its lane's next tick
       * (a quiet symbol's update is not held back by up to an interval); 0 turns this off.
       */
      promptAfterMs: z.number().int().min(0).max(60_000).default(1000),
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
            symbols: z.array(symbolName).optional(),
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
      zone: timeZone.default('America/New_York'),
      preOpen: timeOfDay.default('04:00'),
      open: timeOfDay.default('09:30'),
      close: timeOfDay.default('16:00'),
      postClose: timeOfDay.default('20:00'),
      holidays: z.array(calendarDate).default([]),
      /** Days the session ends early (NYSE: 13:00, after-hours to 17:00, around Thanksgiving and Christmas). */
      earlyCloses: z.array(calendarDate).default([]),
      earlyClose: timeOfDay.default('13:00'),
      earlyPostClose: timeOfDay.default('17:00'),
    })
    // The session runs pre -> open -> post -> closed within one day (a time that is not HH:MM is told already).
    .refine((m) => inOrder(m.preOpen, m.open, (a, b) => a <= b), {
      path: ['preOpen'],
      error: ({ input }) => `expected at or before market.open (${sessionTimes(input).open})`,
    })
    .refine((m) => inOrder(m.open, m.close, (a, b) => a < b), {
      path: ['close'],
      error: ({ input }) => `expected after market.open (${sessionTimes(input).open})`,
    })
    .refine((m) => inOrder(m.close, m.postClose, (a, b) => a <= b), {
      path: ['postClose'],
      error: ({ input }) => `expected at or after market.close (${sessionTimes(input).close})`,
    })
    // Early times are checked only when some day closes early: a market that opens at 13:00 has no use for them.
    .refine((m) => m.earlyCloses.length === 0 || inOrder(m.open, m.earlyClose, (a, b) => a < b), {
      path: ['earlyClose'],
      error: ({ input }) => `expected after market.open (${sessionTimes(input).open})`,
    })
    .refine((m) => m.earlyCloses.length === 0 || inOrder(m.earlyClose, m.close, (a, b) => a < b), {
      path: ['earlyClose'],
      error: ({ input }) => `expected before market.close (${sessionTimes(input).close}): an early close`,
    })
    .refine((m) => m.earlyCloses.length === 0 || inOrder(m.earlyClose, m.earlyPostClose, (a, b) => a <= b), {
      path: ['earlyPostClose'],
      error: ({ input }) => `expected at or after market.earlyClose (${earlyTimes(input).earlyClose})`,
    })
    .refine((m) => !m.earlyCloses.some(isWeekend), {
      path: ['earlyCloses'],
      error: ({ input }) => `${earlyTimes(input).weekend} is a Saturday or a Sunday: no session to close early`,
    })
    .refine((m) => !m.earlyCloses.some((day) => m.holidays.includes(day)), {
      path: ['earlyCloses'],
      error: ({ input }) => `${earlyTimes(input).clash} is in market.holidays too: a day is closed or closes early`,
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
      /** A single Redis (one URL), or a Redis Cluster (a list of some of its nodes' URLs). */
      redis: z
        .union([redisUrl, z.array(redisUrl).min(1, 'at least one Redis Cluster node')], {
          error: 'expected a redis:// or rediss:// URL, or a list of Redis Cluster node URLs',
        })
        .default('redis://127.0.0.1:6379'),
      /** Prefix of every Redis key and channel, so several deployments (or test runs) share one Redis. */
      keyPrefix: z
        .string()
        .regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits and _ . : -')
        .default('tickstream:'),
      /** How often ingest re-reads which symbols gateways watch (a newly watched one is also announced at once). */
      demandPollMs: z.number().int().min(50).default(1000),
      /** Last values are written to Redis at most once per symbol per window. */
      lastValueWindowMs: z.number().int().min(1).max(5000).default(50),
      /** How often ingest writes the 1-minute bars that changed to Redis (gateways' /api/history). */
      historyWindowMs: z.number().int().min(100).max(60_000).default(2000),
      /** How long the ingest status in Redis stays valid without a refresh (gateways show feeds down after). */
      statusTtlMs: z.number().int().min(500).default(5000),
      reconnect: backoff(100, 3000),
    })
    .prefault({}),
});

/**
 * What spans fields: the default rate lies within the tiers, static tokens are distinct, and feeds are told
 * apart by id (status, priority, metrics): ids are unique and priority lists name real ones.
 */
export const configSchema = configObject.superRefine((config, ctx) => {
  const { tiers, defaultHz } = config.pipeline;
  const [lowest, highest] = [Math.min(...tiers), Math.max(...tiers)];
  if (tiers.length > 0 && (defaultHz < lowest || defaultHz > highest)) {
    ctx.addIssue({
      code: 'custom',
      path: ['pipeline', 'defaultHz'],
      message: `expected a rate within pipeline.tiers (${lowest} to ${highest} Hz), got ${defaultHz}`,
    });
  }
  const tokens = new Set<string>();
  for (const [i, { token }] of config.auth.tokens.entries()) {
    // Which grant a duplicated token gets would depend on the order: say so rather than pick one.
    if (tokens.has(token))
      ctx.addIssue({ code: 'custom', path: ['auth', 'tokens', i, 'token'], message: 'used twice' });
    tokens.add(token);
  }
  const ids = new Set<string>();
  for (const [i, feed] of config.feeds.entries()) {
    if (ids.has(feed.id))
      ctx.addIssue({ code: 'custom', path: ['feeds', i, 'id'], message: `"${feed.id}" is used twice` });
    ids.add(feed.id);
  }
  const { adminUi } = config.server;
  const adminTokens = config.auth.tokens.some((t) => t.role === 'admin') || config.auth.jwtSecret !== undefined;
  if (adminUi.enabled && !adminUi.passwordHash && !adminTokens) {
    // Never open: without a password or an admin token there is no credential to check.
    ctx.addIssue({
      code: 'custom',
      path: ['server', 'adminUi'],
      message: 'needs passwordHash, or an admin token (auth.tokens with role "admin", or auth.jwtSecret)',
    });
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
export type SseFeedConfig = z.infer<typeof sseFeed>;
export type PollFeedConfig = z.infer<typeof pollFeed>;
export type WsFeedConfig = z.infer<typeof wsFeed>;
export type MarketCalendarConfig = Config['market'];
export type ClusterConfig = Config['cluster'];
export type AuthConfig = Config['auth'];
export type AdminUiConfig = Config['server']['adminUi'];
export type SlowConsumerConfig = Config['limits']['slowConsumer'];
