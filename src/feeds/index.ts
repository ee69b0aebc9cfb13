import type { Observable, SchedulerLike } from 'rxjs';
import type { FeedConfig, MarketCalendarConfig } from '../config/schema.js';
import type { ReplayController } from '../delivery/gateway.js';
import type { Logger } from '../log.js';
import { marketSession } from '../market/session.js';
import type { Bar, ReplayStatus, SymbolInfo } from '../protocol.js';
import { pollFeedFromConfig } from './poll.js';
import { replayFeedFromConfig } from './replay.js';
import { simulatedFeed } from './simulated.js';
import { simulatedHistory } from './simulatedHistory.js';
import { sseFeedFromConfig } from './sse.js';
import { listings } from './universe.js';
import { wsFeedFromConfig } from './wsFeed.js';

/** A configured upstream: its values are unvalidated until the pipeline's normalizeQuote. */
export type FeedSource = {
  id: string;
  quotes$: Observable<unknown>;
  /** Symbols the feed declares up front (so clients can subscribe before the first tick). */
  symbols: SymbolInfo[];
  replay?: boolean;
  /** A replay feed's controls (pause, resume, speed, seek) and status; startTickstream serves them. */
  control?: ReplayController & { status(): ReplayStatus };
  /** How the feed numbers `upstreamSeq` for gap detection: per symbol (the default) or once for the feed. */
  gapScope?: 'symbol' | 'feed';
  /** Signs of life that are not quotes (an idle but connected upstream); each marks the feed as seen. */
  alive$?: Observable<unknown>;
  /** 1-minute bars from before the feed started (a backfill), so charts do not start empty. */
  history?: (symbol: string) => Bar[];
};

export type FeedContext = {
  scheduler?: SchedulerLike;
  market: MarketCalendarConfig;
  /** The symbols clients watch now; vendor feeds that can choose subscribe upstream only to these. */
  demand$?: Observable<ReadonlySet<string>>;
  /** For feeds that log their connection's ups and downs. */
  logger?: Logger;
};

export function createFeed(config: FeedConfig, context: FeedContext): FeedSource {
  switch (config.type) {
    case 'simulated': {
      const universe = listings(config.symbols);
      let cachedUntil = 0;
      let factor = 1;
      const activityAt = (now: number) => {
        // The market session changes a few times a day: recompute it once a second at most.
        if (now >= cachedUntil) {
          const state = marketSession(context.market, now).state;
          factor = state === 'open' ? 1 : config.offHoursFactor;
          cachedUntil = now + 1000;
        }
        return factor;
      };
      return {
        id: config.id,
        symbols: universe.map(({ symbol, name, exchange, currency }) => ({ symbol, name, exchange, currency })),
        history: simulatedHistory({ seed: config.seed, listings: universe, endTs: (context.scheduler ?? Date).now() }),
        quotes$: simulatedFeed(
          {
            seed: config.seed,
            listings: universe,
            ticksPerSecond: config.ticksPerSecond,
            source: config.id,
            intervalMs: config.intervalMs,
            activityAt,
          },
          context.scheduler,
        ),
      };
    }
    case 'sse':
      return sseFeedFromConfig(config, context);
    case 'ws':
      return wsFeedFromConfig(config, context);
    case 'poll':
      return pollFeedFromConfig(config, context);
    case 'replay':
      return replayFeedFromConfig(config, context.scheduler);
    default:
      // Every type is handled; this guards configs built around the schema.
      throw new Error(`feed type "${(config as { type: string }).type}" is not available in this build`);
  }
}
