import type { MarketCalendarConfig } from '../config/schema.js';
import { marketSession } from '../market/session.js';
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
    // A replay shows the session of the recorded moment, not of the wall clock.
    session: marketSession(sources.market, replay?.position || now()),
  };
  if (replay) status.replay = replay;
  return status;
}
