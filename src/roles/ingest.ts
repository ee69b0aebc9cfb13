import { createServer, type Server } from 'node:http';
import { asyncScheduler, type SchedulerLike, Subscription } from 'rxjs';
import { publishIngestStatus } from '../cluster/clusterStatus.js';
import { type ClusterKeys, clusterKeys, historyKey } from '../cluster/keys.js';
import { publishDirectory } from '../cluster/redisDirectory.js';
import { writeHistory } from '../cluster/redisHistory.js';
import { writeLastValues } from '../cluster/redisLastValues.js';
import { describeRedis, RedisLink } from '../cluster/redisLink.js';
import { gatewayDemand, publishQuotes } from '../cluster/redisQuotes.js';
import type { Config } from '../config/schema.js';
import { AccessPolicy } from '../delivery/accessPolicy.js';
import { healthRoutes } from '../delivery/httpRoutes.js';
import { listenWithMetrics, type MetricsListener } from '../delivery/metricsListener.js';
import type { FeedSource } from '../feeds/types.js';
import { IngestPart } from '../ingest/ingestPart.js';
import { CHART_BARS } from '../ingest/intradayHistory.js';
import { createLogger, type Logger } from '../log.js';
import { Metrics } from '../metrics.js';
import type { Status } from '../protocol.js';
import { feedsReadiness } from './readiness.js';
import type { RunningNode } from './runningNode.js';

export type IngestOptions = {
  config: Config;
  logger?: Logger;
  scheduler?: SchedulerLike;
  /** Feeds to use instead of those the config names (tests, embedding). */
  feeds?: FeedSource[];
};

export type IngestNode = RunningNode & {
  readonly link: RedisLink;
  readonly ingest: IngestPart;
  status(): Status;
};

/**
 * `ingest`: the ingest part, published to Redis. Each quote of a symbol some gateway watches goes once to the
 * symbol's sharded channel; the last values, the chart history, the symbol directory and the status are
 * written to keys the gateways read. Its HTTP port serves health, readiness and metrics.
 */
export async function startIngest(options: IngestOptions): Promise<IngestNode> {
  const { config } = options;
  const logger = options.logger ?? createLogger(config.log.level, 'tickstream-ingest');
  const scheduler = options.scheduler ?? asyncScheduler;
  const metrics = new Metrics({ redis: true });
  const ingest = new IngestPart({ config, metrics, logger, scheduler, feeds: options.feeds });
  const link = RedisLink.open(config.cluster, logger);
  const status = (): Status => ({
    ...ingest.status(),
    cluster: { role: 'ingest', redis: link.isUp() ? 'up' : 'down' },
  });
  const writes: RedisWrites = {
    ingest,
    link,
    keys: clusterKeys(config.cluster.keyPrefix),
    cluster: config.cluster,
    metrics,
    scheduler,
    failed:
      (kind) =>
      (err, writes = 1) => {
        metrics.redisPublishFailures?.inc({ kind }, writes);
        logger.debug({ err, kind, writes }, 'redis write dropped');
      },
  };

  const running = new Subscription();
  running.add(link.up$.subscribe((up) => metrics.redisUp?.set(up ? 1 : 0)));
  // The Redis writers listen before ingest.start() runs the pipeline, so they see its first quotes.
  running.add(writeQuotes(writes));
  running.add(ingest.start());
  running.add(publishState(writes));

  // The same access policy as every role's: /metrics needs an admin token while auth is on.
  const access = new AccessPolicy(config.auth);
  const http = healthServer(config.server, { access, metrics, status, ingest, link });
  let metricsListener: MetricsListener | undefined;
  const stop = async () => {
    running.unsubscribe();
    // Health and metrics requests only, no client to drain: what is still open is cut, not waited for.
    const closed = new Promise<void>((resolve) => http.close(() => resolve()));
    http.closeAllConnections();
    await closed;
    await metricsListener?.close();
    await link.close();
    metrics.close();
  };
  const listening = await listenWithMetrics(http, config.server, { access, metrics }, stop);
  metricsListener = listening.metricsListener;
  const { url, port } = listening;
  logger.info({ url, redis: describeRedis(config.cluster) }, 'tickstream ingest running');

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    metricsUrl: metricsListener?.url,
    metrics,
    link,
    ingest,
    status,
    close() {
      closing ??= (async () => {
        await stop();
        logger.info('tickstream ingest stopped');
      })();
      return closing;
    },
  };
}

/** The ingest's HTTP port: health, readiness (Redis up and a live feed) and metrics. */
function healthServer(
  server: Config['server'],
  {
    access,
    metrics,
    status,
    ingest,
    link,
  }: { access: AccessPolicy; metrics: Metrics; status: () => Status; ingest: IngestPart; link: RedisLink },
): Server {
  return createServer(
    healthRoutes({
      metrics,
      access,
      metricsApart: server.metricsPort !== undefined,
      status,
      readiness: () =>
        link.isUp() ? feedsReadiness(ingest.health.statuses()) : { ready: false, reason: 'redis is down' },
    }),
  );
}

/** What the ingest's writers to Redis share: where they write, and how a dropped write is counted. */
type RedisWrites = {
  ingest: IngestPart;
  link: RedisLink;
  keys: ClusterKeys;
  cluster: Config['cluster'];
  metrics: Metrics;
  scheduler: SchedulerLike;
  /** How a dropped write is counted and logged (`writes`: how many went in one command; 1 unless said). */
  failed: (kind: string) => (err: unknown, writes?: number) => void;
};

/** The quotes' writers: the last values, the chart history, and each watched symbol's channel. */
function writeQuotes({ ingest, link, keys, cluster, metrics, scheduler, failed }: RedisWrites): Subscription {
  const writing = new Subscription();
  writing.add(
    writeLastValues(ingest.quotes$, link, keys.lastValues, {
      windowMs: cluster.lastValueWindowMs,
      onFailure: failed('last_value'),
      scheduler,
      cache: ingest.cache,
      resets$: ingest.discontinuities$,
    }),
  );
  writing.add(
    writeHistory(ingest.quotes$, ingest.history, link, (symbol) => historyKey(keys, symbol), {
      everyMs: cluster.historyWindowMs,
      maxBars: CHART_BARS,
      onFailure: failed('history'),
      scheduler,
      resets$: ingest.discontinuities$,
    }),
  );
  writing.add(
    publishQuotes(ingest, gatewayDemand(link, keys, cluster.demandPollMs, scheduler), link, keys, {
      onPublished: (count) => metrics.redisMessagesOut?.inc(count),
      onFailure: failed('tick'),
      onDemand: (symbols) => metrics.clusterSymbols?.set(symbols),
    }),
  );
  return writing;
}

/** The symbol directory (every second) and the ingest's status (see statusWriteEveryMs), for the gateways. */
function publishState({ ingest, link, keys, cluster, scheduler, failed }: RedisWrites): Subscription {
  const publishing = new Subscription();
  publishing.add(
    publishDirectory(ingest.directory, link, keys.symbols, { everyMs: 1000, onFailure: failed('symbols'), scheduler }),
  );
  publishing.add(
    publishIngestStatus(() => ingest.status(), link, keys.status, {
      ttlMs: cluster.statusTtlMs,
      onFailure: failed('status'),
      scheduler,
    }),
  );
  return publishing;
}
