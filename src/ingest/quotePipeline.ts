import { EMPTY, ignoreElements, merge, type Observable, share, tap } from 'rxjs';
import type { FeedSource } from '../feeds/types.js';
import { assignSeq } from '../pipeline/assignSeq.js';
import { detectGaps, type UpstreamGap } from '../pipeline/detectGaps.js';
import { type InvalidInput, normalizeQuote } from '../pipeline/normalizeQuote.js';
import { withDayStats } from '../pipeline/withDayStats.js';
import type { Quote, RawQuote } from '../protocol.js';
import type { FeedHealth } from './feedHealth.js';
import { intoCache, type LastValueCache } from './lastValueCache.js';
import type { SymbolDirectory } from './symbolDirectory.js';

export type PipelineHooks = {
  health: FeedHealth;
  cache: LastValueCache;
  directory: SymbolDirectory;
  zone: string;
  /** The numbering's epoch, read per quote (src/ingest/epochs.ts). */
  epochNow: () => number;
  /** A feed jumped in time (its `discontinuities$`): called before its next quote passes. */
  onDiscontinuity?: (feedId: string) => void;
  onTick?: (feedId: string) => void;
  onInvalid?: (feedId: string, invalid: InvalidInput) => void;
  onFeedError?: (feedId: string, err: unknown) => void;
  /** Hears each upstream sequence gap (it is also counted in the feed's status). */
  onGap?: (feedId: string, gap: UpstreamGap) => void;
  /** Merges the validated feeds; by default a plain merge. */
  mergeFeeds?: (feeds: { id: string; quotes$: Observable<RawQuote> }[]) => Observable<RawQuote>;
};

/**
 * feeds -> normalize (per feed) -> merge -> epoch and seq -> day statistics -> last-value cache. The result is
 * shared: one subscription drives the whole pipeline.
 */
export function quotePipeline(feeds: readonly FeedSource[], hooks: PipelineHooks): Observable<Quote> {
  const validated = feeds.map((feed) => {
    for (const info of feed.symbols) hooks.directory.add(info);
    hooks.health.register(feed.id, { replay: feed.replay });
    return {
      id: feed.id,
      quotes$: feed.quotes$.pipe(
        // A quote without a source of its own is the feed's: set while it is built, not spread afterwards.
        normalizeQuote((invalid) => hooks.onInvalid?.(feed.id, invalid), feed.id),
        detectGaps((gap) => {
          hooks.health.recordGap(feed.id);
          hooks.onGap?.(feed.id, gap);
        }, feed.gapScope),
        hooks.health.track<RawQuote>(feed.id, (err) => hooks.onFeedError?.(feed.id, err)),
        tap(() => hooks.onTick?.(feed.id)),
        // Liveness signals, listed symbols and jumps count only while the feed itself is subscribed.
        (quotes$) =>
          merge(
            quotes$,
            (feed.alive$ ?? EMPTY).pipe(
              tap(() => hooks.health.markSeen(feed.id)),
              ignoreElements(),
            ),
            (feed.symbols$ ?? EMPTY).pipe(
              tap((listed) => {
                for (const info of listed) hooks.directory.add(info);
              }),
              ignoreElements(),
            ),
            (feed.discontinuities$ ?? EMPTY).pipe(
              tap(() => hooks.onDiscontinuity?.(feed.id)),
              ignoreElements(),
            ),
          ),
      ),
    };
  });
  const merged = hooks.mergeFeeds ? hooks.mergeFeeds(validated) : merge(...validated.map((f) => f.quotes$));
  return merged.pipe(
    assignSeq(hooks.epochNow),
    withDayStats(hooks.zone),
    tap((quote) => hooks.directory.see(quote.symbol)),
    intoCache(hooks.cache),
    share(),
  );
}
