import { createServer } from 'node:http';
import { createShardedAdapter } from '@socket.io/redis-adapter';
import { asyncScheduler, type SchedulerLike, Subscription } from 'rxjs';
import { Server } from 'socket.io';
import type { Config } from '../config/schema.js';
import { httpRoutes } from '../delivery/httpRoutes.js';
import { currentStatus } from '../delivery/statusBoard.js';
import type { TickstreamServer } from '../delivery/types.js';
import { createFeed, type FeedSource } from '../feeds/index.js';
import { createLogger, type Logger } from '../log.js';
import { Metrics } from '../metrics.js';
import { configuredPipeline } from '../pipeline/configuredPipeline.js';
import { ConflatedStreams } from '../pipeline/conflatedStreams.js';
import { FeedHealth } from '../pipeline/feedHealth.js';
import { CHART_BARS, chartHistory, intoHistory } from '../pipeline/intradayHistory.js';
import { LastValueCache } from '../pipeline/lastValueCache.js';
import { SymbolDemand } from '../pipeline/symbolDemand.js';
import { SymbolDirectory } from '../pipeline/symbolDirectory.js';
import type { Quote, Status } from '../protocol.js';
import { publishFeedStatus } from './clusterStatus.js';
import { clusterKeys, historyKey } from './keys.js';
import { listen } from './listen.js';
import { publishDirectory } from './redisDirectory.js';
import { writeHistory } from './redisHistory.js';
import { writeLastValues } from './redisLastValues.js';
import { RedisLink, reportingPublisher } from './redisLink.js';
import { everyRoom, gatewayRooms } from './roomDemand.js';
import { followRooms } from './roomFollower.js';

export type IngestNodeOptions = {
  config: Config;
  logger?: Logger;
  scheduler?: SchedulerLike;
  /** Feeds to use instead of those the config names (tests, embedding). */
  feeds?: FeedSource[];
};

export type IngestNode = {
  readonly url: string;
  readonly port: number;
  readonly metrics: Metrics;
  readonly link: RedisLink;
  readonly cache: LastValueCache;
  status(): Status;
  close(): Promise<void>;
};

/**
 * The ingest role: feeds and pipeline as in one process, but each symbol-tier update goes to its Socket.IO
 * room through Redis (the sharded adapter; no local clients), the last values and the symbol directory are
 * written to Redis for the gateways, and only rooms some gateway holds are conflated and published (or every
 * room, with `cluster.publish: "all"`). Its HTTP port serves health, readiness and metrics.
 */
export async function startIngestNode(options: IngestNodeOptions): Promise<IngestNode> {
  const { config } = options;
  const logger = options.logger ?? createLogger(config.log.level, 'tickstream-ingest');
  const scheduler = options.scheduler ?? asyncScheduler;
  const keys = clusterKeys(config.cluster.keyPrefix);
  const metrics = new Metrics();
  const cache = new LastValueCache();
  const directory = new SymbolDirectory();
  const health = new FeedHealth(config.staleAfterMs);
  const demand = new SymbolDemand();
  const link = RedisLink.open(config.cluster, logger);
  const subscriptions = new Subscription();
  subscriptions.add(link.up$.subscribe((up) => metrics.redisUp.set(up ? 1 : 0)));
  const failed = (kind: string) => (err: unknown) => {
    metrics.redisPublishFailures.inc({ kind });
    logger.debug({ err, kind }, 'redis write dropped');
  };

  const feeds =
    options.feeds ??
    config.feeds.map((feed) => createFeed(feed, { scheduler, market: config.market, demand$: demand.demand$, logger }));
  const quotes$ = configuredPipeline(feeds, { config, metrics, logger, health, cache, directory, scheduler });
  const history = chartHistory(feeds);

  const status = (): Status => ({
    ...currentStatus({ health, market: config.market }),
    cluster: { role: 'ingest', redis: link.isUp() ? 'up' : 'down' },
  });

  // Not attached to any HTTP server: this Socket.IO server only publishes to rooms through the adapter.
  const io: TickstreamServer = new Server({
    adapter: createShardedAdapter(reportingPublisher(link.command, failed('tick')), link.sub, {
      channelPrefix: keys.adapter,
      subscriptionMode: 'dynamic',
    }),
  });
  const publish = (room: string, quote: Quote) => {
    // Dropped, not queued: a queued tick would arrive stale once Redis is back.
    if (!link.isUp()) {
      metrics.redisPublishFailures.inc({ kind: 'tick' });
      return;
    }
    io.to(room).emit('ticks', [quote]);
    metrics.updatesOut.inc();
  };

  const streams = new ConflatedStreams(scheduler, config.pipeline.conflation);
  const rooms$ =
    config.cluster.publish === 'all'
      ? everyRoom(
          () => directory.list().map((s) => s.symbol),
          config.pipeline.tiers,
          config.cluster.demandPollMs,
          scheduler,
        )
      : gatewayRooms(link, keys, config.cluster.demandPollMs, scheduler);
  subscriptions.add(followRooms(rooms$, streams, publish, { demand, onCount: (n) => metrics.clusterRooms.set(n) }));
  // The last-value writer subscribes first: a feed may emit synchronously on the first subscription.
  subscriptions.add(
    writeLastValues(quotes$, link, keys.lastValues, {
      windowMs: config.cluster.lastValueWindowMs,
      onFailure: failed('last_value'),
      scheduler,
      cache,
    }),
  );
  subscriptions.add(streams.connect(quotes$));
  subscriptions.add(quotes$.pipe(intoHistory(history)).subscribe());
  subscriptions.add(
    writeHistory(quotes$, history, link, (symbol) => historyKey(keys, symbol), {
      everyMs: config.cluster.historyWindowMs,
      maxBars: CHART_BARS,
      onFailure: failed('history'),
      scheduler,
    }),
  );
  subscriptions.add(publishDirectory(directory, link, keys.symbols, { everyMs: 1000, onFailure: failed('symbols') }));
  subscriptions.add(
    publishFeedStatus(() => health.statuses(), link, keys.status, {
      everyMs: 1000,
      ttlMs: config.cluster.statusTtlMs,
      onFailure: failed('status'),
    }),
  );

  const http = createServer(
    httpRoutes({
      metrics,
      status,
      directory,
      cache,
      maxSymbolsPerRequest: config.limits.maxSymbolsPerRequest,
      history,
    }),
  );
  const { url, port } = await listen(http, config.server.port, config.server.host);
  logger.info({ url, redis: config.cluster.redisUrl, publish: config.cluster.publish }, 'tickstream ingest running');

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    metrics,
    link,
    cache,
    status,
    close() {
      closing ??= (async () => {
        subscriptions.unsubscribe();
        // Not io.close(): with no HTTP server attached there is no engine to close, only the adapter.
        await io.of('/').adapter.close();
        await new Promise<void>((resolve) => http.close(() => resolve()));
        http.closeAllConnections();
        await link.close();
        metrics.close();
        logger.info('tickstream ingest stopped');
      })();
      return closing;
    },
  };
}
