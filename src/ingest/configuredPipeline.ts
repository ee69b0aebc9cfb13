import { merge, type Observable, type SchedulerLike } from 'rxjs';
import type { Config } from '../config/schema.js';
import type { FeedSource } from '../feeds/types.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { inTimeOrder } from '../pipeline/inTimeOrder.js';
import { mergeByPriority } from '../pipeline/mergeByPriority.js';
import type { Quote } from '../protocol.js';
import type { Epochs } from './epochs.js';
import type { FeedHealth } from './feedHealth.js';
import type { LastValueCache } from './lastValueCache.js';
import { quotePipeline } from './quotePipeline.js';
import type { SymbolDirectory } from './symbolDirectory.js';

export type ConfiguredPipelineDeps = {
  config: Config;
  metrics: Metrics;
  logger: Logger;
  health: FeedHealth;
  cache: LastValueCache;
  directory: SymbolDirectory;
  epochs: Epochs;
  /** A feed jumped in time (a replay seek or loop); the epoch has already moved on. */
  onDiscontinuity?: (feedId: string) => void;
  scheduler?: SchedulerLike;
};

/**
 * The quote pipeline as a role runs it (all-in-one or ingest): counted and logged, feeds merged by the
 * configured priority when there are several.
 */
export function configuredPipeline(feeds: readonly FeedSource[], deps: ConfiguredPipelineDeps): Observable<Quote> {
  const { config, metrics, logger, scheduler } = deps;
  // Each feed's tick count exists from the start, at 0: a feed that never ticks reads as a rate of 0
  // (TickstreamNoTicks), where a counter with no series would read as nothing at all.
  for (const feed of feeds) metrics.ticksIn.inc({ feed: feed.id }, 0);
  return quotePipeline(feeds, {
    health: deps.health,
    cache: deps.cache,
    directory: deps.directory,
    zone: config.market.zone,
    epochNow: () => deps.epochs.current,
    onDiscontinuity: (feed) => {
      deps.epochs.next();
      deps.onDiscontinuity?.(feed);
    },
    onTick: (feed) => metrics.ticksIn.inc({ feed }),
    onInvalid: (feed, invalid) => {
      metrics.badInputs.inc({ feed, reason: invalid.reason });
      logger.debug({ feed, reason: invalid.reason, field: invalid.field }, 'bad upstream value skipped');
    },
    onFeedError: (feed, err) => logger.error({ feed, err }, 'feed failed'),
    onGap: (feed, gap) => {
      metrics.upstreamGaps.inc({ feed });
      logger.warn({ feed, ...gap }, 'upstream sequence gap');
    },
    // Several feeds: per symbol by config.priority, failing over when one is silent past staleAfterMs. A single
    // live feed is held to the merge's rule that a quote older than the last one passed never passes (a late
    // trade report would set the price back); a single replay feed is merged plainly, so a seek back in time
    // is not dropped as out of order.
    mergeFeeds:
      feeds.length > 1
        ? (validated) =>
            mergeByPriority(validated, { priority: config.priority, staleAfterMs: config.staleAfterMs, scheduler })
        : feeds[0] && !feeds[0].replay
          ? (validated) => merge(...validated.map((feed) => feed.quotes$)).pipe(inTimeOrder(scheduler))
          : undefined,
  });
}
