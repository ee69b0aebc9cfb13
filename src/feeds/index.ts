export type { FeedContext, FeedSource } from './types.js';

import type { FeedConfig } from '../config/schema.js';
import { marketSession } from '../market/session.js';
import { pollFeedFromConfig } from './poll.js';
import { replayFeedFromConfig } from './replay.js';
import { simulatedFeed } from './simulated.js';
import { simulatedHistory } from './simulatedHistory.js';
import { sseFeedFromConfig } from './sse.js';
import type { FeedContext, FeedSource } from './types.js';
import { listings } from './universe.js';
import { wsFeedFromConfig } from './wsFeed.js';

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
