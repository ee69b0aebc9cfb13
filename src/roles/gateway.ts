import { asyncScheduler, type SchedulerLike, Subscription } from 'rxjs';
import { GatewayStatus } from '../cluster/clusterStatus.js';
import { type ClusterKeys, clusterKeys, historyKey } from '../cluster/keys.js';
import { RedisDirectoryMirror } from '../cluster/redisDirectory.js';
import { RedisHistory } from '../cluster/redisHistory.js';
import { RedisLastValues } from '../cluster/redisLastValues.js';
import { describeRedis, RedisLink } from '../cluster/redisLink.js';
import { RedisQuoteSource } from '../cluster/redisQuotes.js';
import type { Config } from '../config/schema.js';
import { type Edge, startEdge } from '../delivery/edge.js';
import type { EdgeSources, Readiness } from '../delivery/types.js';
import { createLogger, type Logger } from '../log.js';
import { Metrics } from '../metrics.js';
import type { Status } from '../protocol.js';
import { feedsReadiness } from './readiness.js';

export type GatewayOptions = {
  config: Config;
  logger?: Logger;
  scheduler?: SchedulerLike;
  /** Folder of the built dashboard to serve. */
  webRoot?: string;
};

export type GatewayNode = Edge & {
  readonly metrics: Metrics;
  readonly link: RedisLink;
  status(): Status;
};

/**
 * `gateway`: the edge part over Redis. Quotes come from the sharded channels of the symbols its clients watch
 * (it subscribes to nothing else), snapshots from the last-value hash, the directory, history and the ingest's
 * status from their keys; it conflates and frames locally, exactly as `serve` does.
 */
export async function startGateway(options: GatewayOptions): Promise<GatewayNode> {
  const { config } = options;
  const logger = options.logger ?? createLogger(config.log.level, 'tickstream-gateway');
  const scheduler = options.scheduler ?? asyncScheduler;
  const keys = clusterKeys(config.cluster.keyPrefix);
  const metrics = new Metrics({ redis: true });
  const link = RedisLink.open(config.cluster, logger);
  const running = new Subscription();
  running.add(link.up$.subscribe((up) => metrics.redisUp?.set(up ? 1 : 0)));

  const directory = new RedisDirectoryMirror(link, keys.symbols);
  const gatewayStatus = new GatewayStatus(link, keys.status, config.market, config.cluster.statusTtlMs, () =>
    scheduler.now(),
  );
  running.add(directory.follow(2000, scheduler));
  running.add(gatewayStatus.follow(1000, scheduler));
  const status = () => gatewayStatus.current();
  // The feeds a gateway's clients see are the ingest's, as last read from Redis.
  metrics.followFeeds(() => status().feeds);
  // Ready means it can serve: Redis up, the symbols known, a live feed on the ingest.
  const readiness = (): Readiness => {
    if (!link.isUp()) return { ready: false, reason: 'redis is down' };
    if (!directory.isLoaded) return { ready: false, reason: 'the symbol directory is not known yet' };
    return feedsReadiness(status().feeds);
  };

  const stopRedisSide = async () => {
    running.unsubscribe();
    await link.close();
    metrics.close();
  };
  const edge = await startEdge({
    config,
    metrics,
    logger,
    scheduler,
    webRoot: options.webRoot,
    sources: { ...redisSources(link, keys, metrics, logger), directory, status, readiness },
  }).catch(async (err: unknown) => {
    // It cannot listen: what runs beside the edge goes too, so the process can end.
    await stopRedisSide();
    throw err;
  });
  logger.info({ url: edge.url, redis: describeRedis(config.cluster) }, 'tickstream gateway listening');

  let closing: Promise<void> | undefined;
  return {
    ...edge,
    metrics,
    link,
    status,
    close() {
      closing ??= (async () => {
        await edge.close();
        await stopRedisSide();
        logger.info('tickstream gateway stopped');
      })();
      return closing;
    },
  };
}

/** Where a gateway's edge reads quotes, snapshots and history: Redis, each failure logged and counted. */
function redisSources(
  link: RedisLink,
  keys: ClusterKeys,
  metrics: Metrics,
  logger: Logger,
): Pick<EdgeSources, 'quotes' | 'lastValues' | 'history'> {
  return {
    quotes: new RedisQuoteSource(link, keys, {
      onMessage: () => metrics.redisMessagesIn?.inc(),
      onInvalid: () => metrics.badInputs.inc({ feed: 'redis', reason: 'not_a_quote' }),
      onSubscribeFailed: (channel, err) => {
        metrics.redisPublishFailures?.inc({ kind: 'subscribe' });
        logger.warn({ err, channel }, 'redis subscribe failed');
      },
    }),
    lastValues: new RedisLastValues(link, keys.lastValues, (err) => logger.warn({ err }, 'redis snapshot failed')),
    history: new RedisHistory(
      link,
      (symbol) => historyKey(keys, symbol),
      (err) => logger.warn({ err }, 'redis history failed'),
    ),
  };
}
