import {
  asyncScheduler,
  defer,
  exhaustMap,
  filter,
  map,
  mergeMap,
  Observable,
  type SchedulerLike,
  type Subscription,
  timer,
} from 'rxjs';
import type { PollFeedConfig } from '../config/schema.js';
import { messageOf } from '../errorMessage.js';
import { normalizeSymbol } from '../protocol.js';
import { fetchFailureCause } from './fetchFailure.js';
import { retryAfterMs } from './retryAfter.js';
import { decodeUpstreamJson, type UpstreamFormat } from './sseFormats.js';
import type { FeedContext, FeedSource } from './types.js';

export type PollFeedOptions = {
  url: string;
  intervalMs: number;
  format: UpstreamFormat;
  /** A request still running after this long is aborted; the next interval tries again. */
  timeoutMs?: number;
  headers?: Record<string, string>;
  /** Hears failed polls the feed survives (network errors, timeouts, 5xx). */
  onPollError?: (error: PollError) => void;
  scheduler?: SchedulerLike;
  fetch?: typeof fetch;
};

export type PollFailure =
  | { kind: 'network'; message: string; cause?: string }
  | { kind: 'timeout'; timeoutMs: number }
  /** `retryAfterMs`: the server's Retry-After; no poll starts before it is over. */
  | { kind: 'http'; status: number; retryAfterMs?: number };

export class PollError extends Error {
  override name = 'PollError';
  constructor(
    readonly failure: PollFailure,
    readonly url: string,
  ) {
    super(
      `poll ${url}: ${
        failure.kind === 'http'
          ? `HTTP ${failure.status}${failure.retryAfterMs === undefined ? '' : `, retry after ${failure.retryAfterMs} ms`}`
          : failure.kind === 'timeout'
            ? `no answer within ${failure.timeoutMs} ms`
            : `network error: ${failure.message}${failure.cause ? ` (${failure.cause})` : ''}`
      }`,
    );
  }

  /**
   * A 4xx will not fix itself: the feed stops (and shows `down`) instead of hammering. A 429 is the exception:
   * a rate limit passes.
   */
  get fatal(): boolean {
    const { failure } = this;
    return failure.kind === 'http' && failure.status >= 400 && failure.status < 500 && failure.status !== 429;
  }
}

/**
 * Polls a JSON quote endpoint (one quote or an array, in `format`) every `intervalMs`. A poll starts only
 * when the previous one has finished (exhaustMap: a slow endpoint is never asked twice at once), and a poll
 * refused with a Retry-After (429, 5xx) finishes only once that is over, so the ticks meanwhile ask nothing. A quote
 * identical to the one the previous poll gave for its symbol is not new and is not emitted again.
 */
export function pollFeed(options: PollFeedOptions): Observable<unknown> {
  const scheduler = options.scheduler ?? asyncScheduler;
  return defer(() => {
    const previous = new Map<string, string>();
    const isNew = (item: unknown): boolean => {
      const symbol = (item as { symbol?: unknown } | null)?.symbol;
      if (typeof symbol !== 'string') return true;
      const text = JSON.stringify(item);
      if (previous.get(symbol) === text) return false;
      previous.set(symbol, text);
      return true;
    };
    return timer(0, options.intervalMs, scheduler).pipe(
      exhaustMap(() => pollOnce(options, scheduler)),
      mergeMap((items) => items),
      filter(isNew),
      map(withoutSequence),
    );
  });
}

/** A poll samples the upstream: the sequence numbers it skips are not lost messages, so no gap check. */
function withoutSequence(item: unknown): unknown {
  if (item === null || typeof item !== 'object' || !('upstreamSeq' in item)) return item;
  const { upstreamSeq: _skipped, ...rest } = item as Record<string, unknown>;
  return rest;
}

/** One request: its decoded items, or none when it failed in a way the next poll may not. */
function pollOnce(options: PollFeedOptions, scheduler: SchedulerLike): Observable<unknown[]> {
  const fetchImpl = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 10_000;
  return new Observable<unknown[]>((subscriber) => {
    const abort = new AbortController();
    let timedOut = false;
    // On the feed's scheduler, as its polls are.
    const timeout = scheduler.schedule(() => {
      timedOut = true;
      abort.abort();
    }, timeoutMs);
    const fail = (failure: PollFailure) => new PollError(failure, options.url);
    let retryAfter: Subscription | undefined;
    const run = async (): Promise<unknown[]> => {
      let response: Response;
      let text: string;
      try {
        response = await fetchImpl(options.url, {
          headers: { accept: 'application/json', ...options.headers },
          signal: abort.signal,
        });
        text = await response.text();
      } catch (err) {
        throw timedOut
          ? fail({ kind: 'timeout', timeoutMs })
          : fail({
              kind: 'network',
              message: messageOf(err),
              cause: fetchFailureCause(err),
            });
      }
      if (!response.ok) {
        // An HTTP-date in Retry-After is wall-clock time, whatever clock the polls run on.
        const waitMs = retryAfterMs(response.headers.get('retry-after'), Date.now());
        throw fail(
          waitMs === undefined
            ? { kind: 'http', status: response.status }
            : { kind: 'http', status: response.status, retryAfterMs: waitMs },
        );
      }
      try {
        return decodeUpstreamJson(options.format, JSON.parse(text));
      } catch {
        // Not JSON: passed on as text so validation counts it as a bad input.
        return [text];
      }
    };
    run().then(
      (items) => {
        subscriber.next(items);
        subscriber.complete();
      },
      (err: unknown) => {
        if (err instanceof PollError && !err.fatal) {
          options.onPollError?.(err);
          const waitMs = err.failure.kind === 'http' ? err.failure.retryAfterMs : undefined;
          if (waitMs) retryAfter = scheduler.schedule(() => subscriber.complete(), waitMs);
          else subscriber.complete();
        } else if (!abort.signal.aborted || timedOut) {
          subscriber.error(err);
        }
      },
    );
    return () => {
      timeout.unsubscribe();
      retryAfter?.unsubscribe();
      abort.abort();
    };
  });
}

/** The `poll` feed of a config file; failed polls are logged and the next interval tries again. */
export function pollFeedFromConfig(config: PollFeedConfig, context: FeedContext): FeedSource {
  const log = context.logger?.child({ feed: config.id });
  return {
    id: config.id,
    symbols: (config.symbols ?? []).map((symbol) => ({ symbol: normalizeSymbol(symbol) })),
    quotes$: pollFeed({
      url: config.url,
      intervalMs: config.intervalMs,
      format: config.format,
      headers: config.headers,
      timeoutMs: config.timeoutMs,
      scheduler: context.scheduler,
      onPollError: (error) => log?.warn({ reason: error.message }, 'poll failed; retrying at the next interval'),
    }),
  };
}
