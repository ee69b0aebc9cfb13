import { asyncScheduler, type SchedulerLike } from 'rxjs';
import type { Config } from '../config/schema.js';
import { type Edge, startEdge } from '../delivery/edge.js';
import type { FeedSource } from '../feeds/types.js';
import type { FeedHealth } from '../ingest/feedHealth.js';
import { IngestPart } from '../ingest/ingestPart.js';
import type { LastValueCache } from '../ingest/lastValueCache.js';
import { createLogger, type Logger } from '../log.js';
import { Metrics } from '../metrics.js';
import { feedsReadiness } from './readiness.js';

export type ServeOptions = {
  config: Config;
  logger?: Logger;
  scheduler?: SchedulerLike;
  /** Feeds to use instead of those the config names (tests, embedding). */
  feeds?: FeedSource[];
  /** Folder of the built dashboard to serve. */
  webRoot?: string;
};

export type Tickstream = Edge & {
  readonly cache: LastValueCache;
  readonly metrics: Metrics;
  readonly health: FeedHealth;
};

/** `serve`: the ingest part and the edge part in one process, joined by the ingest part as the quote source. */
export async function startServe(options: ServeOptions): Promise<Tickstream> {
  const { config } = options;
  const logger = options.logger ?? createLogger(config.log.level);
  const scheduler = options.scheduler ?? asyncScheduler;
  const metrics = new Metrics();
  const ingest = new IngestPart({ config, metrics, logger, scheduler, feeds: options.feeds });
  const status = () => ingest.status();
  const edge = await startEdge({
    config,
    metrics,
    logger,
    scheduler,
    webRoot: options.webRoot,
    sources: {
      quotes: ingest,
      lastValues: ingest.cache,
      directory: ingest.directory,
      history: ingest.history,
      status,
      readiness: () => feedsReadiness(status().feeds),
      replay: ingest.replay,
    },
  }).catch((err: unknown) => {
    metrics.close();
    throw err;
  });
  const running = ingest.start();
  logger.info({ url: edge.url, feeds: ingest.feeds.map((f) => f.id) }, 'tickstream listening');

  let closing: Promise<void> | undefined;
  return {
    url: edge.url,
    port: edge.port,
    metricsUrl: edge.metricsUrl,
    io: edge.io,
    http: edge.http,
    membership: edge.membership,
    cache: ingest.cache,
    metrics,
    health: ingest.health,
    close() {
      closing ??= (async () => {
        await edge.close();
        running.unsubscribe();
        metrics.close();
        logger.info('tickstream stopped');
      })();
      return closing;
    },
  };
}
