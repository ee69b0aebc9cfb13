import type { Readiness } from '../delivery/types.js';
import type { FeedStatus } from '../protocol.js';

/** Ready once a feed is live (or replaying): the rule every role applies to the feeds it runs or reads. */
export function feedsReadiness(feeds: readonly Pick<FeedStatus, 'state'>[]): Readiness {
  return feeds.some((f) => f.state === 'live' || f.state === 'replay')
    ? { ready: true }
    : { ready: false, reason: 'no feed is live' };
}
