export type { FeedContext, FeedSource } from './types.js';

import type { FeedConfig } from '../config/schema.js';
import { pollFeedFromConfig } from './poll.js';
import { replayFeedFromConfig } from './replay.js';
import { simulatedFeedFromConfig } from './simulated.js';
import { sseFeedFromConfig } from './sse.js';
import type { FeedContext, FeedSource } from './types.js';
import { wsFeedFromConfig } from './wsFeed.js';

export function createFeed(config: FeedConfig, context: FeedContext): FeedSource {
  switch (config.type) {
    case 'simulated':
      return simulatedFeedFromConfig(config, context);
    case 'sse':
      return sseFeedFromConfig(config, context);
    case 'ws':
      return wsFeedFromConfig(config, context);
    case 'poll':
      return pollFeedFromConfig(config, context);
    case 'replay':
      return replayFeedFromConfig(config, context.scheduler);
    default: {
      // Every type of the schema is handled: a new one fails to compile here.
      const unhandled: never = config;
      return unhandled;
    }
  }
}
