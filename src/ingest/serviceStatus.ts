import type { MarketCalendarConfig } from '../config/schema.js';
import { shownSession } from '../market/session.js';
import type { ReplayStatus, Status } from '../protocol.js';
import type { FeedHealth } from './feedHealth.js';

export type StatusSources = {
  health: FeedHealth;
  market: MarketCalendarConfig;
  now?: () => number;
  replay?: () => ReplayStatus | undefined;
};

/** The ingest side's status as the protocol's `status` payload: feed states, the session, a replay's state. */
export function currentStatus(sources: StatusSources): Status {
  const now = sources.now ?? Date.now;
  const replay = sources.replay?.();
  const status: Status = {
    feeds: sources.health.statuses(),
    session: shownSession(sources.market, replay, now()),
  };
  if (replay) status.replay = replay;
  return status;
}
