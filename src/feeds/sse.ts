import { createParser, type EventSourceParser } from 'eventsource-parser';
import {
  asyncScheduler,
  defer,
  mergeMap,
  Observable,
  retry,
  type SchedulerLike,
  type Subscription,
  share,
  throwError,
  timer,
} from 'rxjs';
import type { SseFeedConfig } from '../config/schema.js';
import { normalizeSymbol } from '../protocol.js';
import { backoffDelay } from '../retry.js';
import { aliveSignals, quoteValues } from './feedOutputs.js';
import { failureText } from './fetchFailure.js';
import { retryAfterMs } from './retryAfter.js';
import { decodeUpstreamText, type UpstreamFormat } from './sseFormats.js';
import type { FeedContext, FeedSource } from './types.js';

/** One dispatched event, with the stream's last event ID as it stood then (WHATWG `lastEventId`). */
export type SseMessage = { data: string; event?: string; lastEventId: string };

/**
 * What an SSE feed yields: Quote-shaped values for the pipeline to validate, and `alive` when a connection
 * opens or bytes arrive (quotes, other events, keep-alive comments).
 */
export type SseFeedOutput = { kind: 'quote'; value: unknown } | { kind: 'alive' };

/** What one connection yields: its messages, and `alive` on open and on every chunk. */
type SseConnectionOutput = { kind: 'message'; message: SseMessage } | { kind: 'alive' };

/**
 * Why a connection ended; `retryable` ones reconnect with backoff (a 429 or 5xx no sooner than its Retry-After),
 * the others stop the feed.
 */
export type SseFailure =
  | { kind: 'network'; message: string }
  | { kind: 'ended' }
  | { kind: 'overflow'; maxLineBytes: number }
  | { kind: 'idle'; idleTimeoutMs: number }
  /** `retryAfterMs`: the server's Retry-After, the least wait before the next attempt. */
  | { kind: 'http'; status: number; retryAfterMs?: number }
  | { kind: 'no-content' }
  | { kind: 'content-type'; contentType: string };

export class SseError extends Error {
  override name = 'SseError';
  constructor(
    readonly failure: SseFailure,
    readonly url: string,
  ) {
    super(`SSE ${url}: ${describeFailure(failure)}`);
  }

  get retryable(): boolean {
    const { failure } = this;
    // A 429 is a rate limit: it passes, where another 4xx (a bad key, a wrong path) will not.
    if (failure.kind === 'http') return failure.status >= 500 || failure.status === 429;
    return failure.kind !== 'no-content' && failure.kind !== 'content-type';
  }
}

function describeFailure(failure: SseFailure): string {
  switch (failure.kind) {
    case 'network':
      return `network error: ${failure.message}`;
    case 'ended':
      return 'the server ended the stream';
    case 'overflow':
      return `a line or event exceeded ${failure.maxLineBytes} bytes`;
    case 'idle':
      return `nothing received for ${failure.idleTimeoutMs} ms`;
    case 'http':
      return failure.retryAfterMs === undefined
        ? `HTTP ${failure.status}`
        : `HTTP ${failure.status}, retry after ${failure.retryAfterMs} ms`;
    case 'no-content':
      return 'HTTP 204: the server asked us to stop';
    case 'content-type':
      return `expected text/event-stream, got "${failure.contentType}"`;
  }
}

export type SseConnectionEvent =
  | { type: 'open'; url: string; lastEventId: string }
  | { type: 'reconnecting'; error: SseError; attempt: number; delayMs: number }
  | { type: 'stopped'; error: SseError };

/**
 * The byte-level event stream of one connection: UTF-8 decoding (a split multi-byte character waits for its
 * other bytes; the leading BOM goes), eventsource-parser for the line grammar, and the WHATWG rule that the
 * last event ID persists from event to event until an `id:` changes it (an empty `id:` resets it).
 */
export class SseDecoder {
  private readonly text = new TextDecoder('utf-8');
  private readonly parser: EventSourceParser;
  private overflowed = false;
  lastEventId: string;

  constructor(
    private readonly handlers: { onMessage: (message: SseMessage) => void; onRetry?: (ms: number) => void },
    options: { maxBufferSize?: number; lastEventId?: string } = {},
  ) {
    this.lastEventId = options.lastEventId ?? '';
    this.parser = createParser({
      maxBufferSize: options.maxBufferSize,
      onEvent: (event) => {
        // eventsource-parser reports only the id given in this event's block; the spec keeps the last one.
        if (event.id !== undefined) this.lastEventId = event.id;
        const message: SseMessage = { data: event.data, lastEventId: this.lastEventId };
        if (event.event !== undefined) message.event = event.event;
        this.handlers.onMessage(message);
      },
      onRetry: (ms) => this.handlers.onRetry?.(ms),
      onError: (error) => {
        if (error.type === 'max-buffer-size-exceeded') this.overflowed = true;
      },
    });
  }

  /** Feeds bytes; returns false once the buffer bound was exceeded (the connection must be dropped). */
  push(bytes: Uint8Array): boolean {
    if (this.overflowed) return false;
    this.parser.feed(this.text.decode(bytes, { stream: true }));
    return !this.overflowed;
  }
}

export type SseFeedOptions = {
  url: string;
  format: UpstreamFormat;
  headers?: Record<string, string>;
  /** Bound on a partial line plus a partial event, so an endless line cannot grow memory. */
  maxLineBytes?: number;
  reconnect?: { initialMs: number; maxMs: number };
  /** Reconnect when not a byte (not even a comment) arrives for this long: a dead link that stays open. */
  idleTimeoutMs?: number;
  onConnection?: (event: SseConnectionEvent) => void;
  scheduler?: SchedulerLike;
  /** 0..1; jitter of the reconnect delay. */
  random?: () => number;
  fetch?: typeof fetch;
};

/**
 * An SSE upstream as a feed: each event's data decoded by `format` into Quote-shaped values. Reconnects
 * after network errors, 429, 5xx and a closed stream with jittered exponential backoff (the server's `retry:` is
 * the base; a Retry-After, the least wait), sending `Last-Event-ID`; errors with an SseError, without
 * reconnecting, on 204, another 4xx or a wrong content type. Events whose type is neither absent nor `message`
 * are not quotes and are ignored.
 */
export function sseFeed(options: SseFeedOptions): Observable<unknown> {
  return sseFeedOutputs(options).pipe(quoteValues());
}

/** The feed's quotes and its signs of life (see sseFeed). */
export function sseFeedOutputs(options: SseFeedOptions): Observable<SseFeedOutput> {
  const scheduler = options.scheduler ?? asyncScheduler;
  const random = options.random ?? Math.random;
  const { initialMs, maxMs } = options.reconnect ?? { initialMs: 500, maxMs: 30_000 };
  return defer(() => {
    const session: SseSession = { lastEventId: '' };
    return sseConnection(options, session, scheduler).pipe(
      retry({
        resetOnSuccess: true,
        delay: (error: unknown, attempt: number) => {
          if (!(error instanceof SseError) || !error.retryable) {
            if (error instanceof SseError) options.onConnection?.({ type: 'stopped', error });
            return throwError(() => error);
          }
          const backoffMs = backoffDelay(session.retryMs ?? initialMs, maxMs, attempt, random());
          const { failure } = error;
          // The server's Retry-After is the least wait; backoff still applies past it.
          const delayMs = failure.kind === 'http' ? Math.max(backoffMs, failure.retryAfterMs ?? 0) : backoffMs;
          options.onConnection?.({ type: 'reconnecting', error, attempt, delayMs });
          return timer(delayMs, scheduler);
        },
      }),
      mergeMap((output): SseFeedOutput[] => {
        if (output.kind === 'alive') return [output];
        const { message } = output;
        if (message.event !== undefined && message.event !== 'message') return [];
        return decodeUpstreamText(options.format, message.data).map((value) => ({ kind: 'quote', value }));
      }),
    );
  });
}

/** What outlives one connection: the last event ID and the server's `retry:`. */
type SseSession = { lastEventId: string; retryMs?: number };

/** One HTTP connection's messages; ends with an SseError (a clean end of stream included). */
function sseConnection(
  options: SseFeedOptions,
  session: SseSession,
  scheduler: SchedulerLike,
): Observable<SseConnectionOutput> {
  const fetchImpl = options.fetch ?? fetch;
  const maxLineBytes = options.maxLineBytes ?? 1_048_576;
  return new Observable<SseConnectionOutput>((subscriber) => {
    const abort = new AbortController();
    const fail = (failure: SseFailure) => new SseError(failure, options.url);
    const { idleTimeoutMs } = options;
    // On the feed's scheduler, as its reconnect delays are.
    let idle: Subscription | undefined;
    let idled = false;
    const watchIdle = () => {
      if (!idleTimeoutMs) return;
      idle?.unsubscribe();
      idle = scheduler.schedule(() => {
        idled = true;
        abort.abort();
      }, idleTimeoutMs);
    };
    const run = async () => {
      watchIdle();
      let response: Response;
      try {
        response = await fetchImpl(options.url, { headers: requestHeaders(options, session), signal: abort.signal });
      } catch (err) {
        throw fail({ kind: 'network', message: failureText(err) });
      }
      const failure = refusal(response);
      if (failure || !response.body) {
        await response.body?.cancel().catch(() => {});
        throw fail(failure ?? { kind: 'ended' });
      }
      options.onConnection?.({ type: 'open', url: options.url, lastEventId: session.lastEventId });
      const alive = () => subscriber.next({ kind: 'alive' });
      alive();
      const decoder = new SseDecoder(
        {
          onMessage: (message) => {
            session.lastEventId = message.lastEventId;
            subscriber.next({ kind: 'message', message });
          },
          onRetry: (ms) => {
            session.retryMs = ms;
          },
        },
        { maxBufferSize: maxLineBytes, lastEventId: session.lastEventId },
      );
      await readEvents(response.body, decoder, { fail, maxLineBytes, onChunk: watchIdle, onAlive: alive });
    };
    run().catch((err: unknown) => {
      idle?.unsubscribe();
      if (idled) subscriber.error(fail({ kind: 'idle', idleTimeoutMs: idleTimeoutMs ?? 0 }));
      // After unsubscribe the abort makes fetch fail; nobody listens any more.
      else if (!abort.signal.aborted) subscriber.error(err);
    });
    return () => {
      idle?.unsubscribe();
      abort.abort();
    };
  });
}

/** Reads a body into the decoder until it ends or fails: it always throws, an SseError (a clean end included). */
async function readEvents(
  body: ReadableStream<Uint8Array>,
  decoder: SseDecoder,
  hooks: { fail: (failure: SseFailure) => SseError; maxLineBytes: number; onChunk: () => void; onAlive: () => void },
): Promise<never> {
  const { fail, maxLineBytes } = hooks;
  const reader = body.getReader();
  try {
    for (;;) {
      const chunk = await reader.read().catch((err: unknown) => {
        throw fail({ kind: 'network', message: failureText(err) });
      });
      if (chunk.done) throw fail({ kind: 'ended' });
      hooks.onChunk();
      if (!decoder.push(chunk.value)) throw fail({ kind: 'overflow', maxLineBytes });
      hooks.onAlive();
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

/** An event-stream request, resuming after the last event the session saw. */
function requestHeaders(options: SseFeedOptions, session: SseSession): Record<string, string> {
  const headers: Record<string, string> = {
    accept: 'text/event-stream',
    'cache-control': 'no-cache',
    ...options.headers,
  };
  if (session.lastEventId) headers['last-event-id'] = session.lastEventId;
  return headers;
}

/**
 * Why a response is not an event stream to read (204 says: do not reconnect), if it is not one; a refusal
 * carries the server's Retry-After.
 */
function refusal(response: Response): SseFailure | undefined {
  const contentType = response.headers.get('content-type') ?? '';
  if (response.status === 204) return { kind: 'no-content' };
  if (response.status !== 200) {
    // An HTTP-date in Retry-After is wall-clock time, whatever clock the feed's delays run on.
    const waitMs = retryAfterMs(response.headers.get('retry-after'), Date.now());
    return waitMs === undefined
      ? { kind: 'http', status: response.status }
      : { kind: 'http', status: response.status, retryAfterMs: waitMs };
  }
  if (!/^text\/event-stream\s*(;|$)/i.test(contentType)) return { kind: 'content-type', contentType };
  return undefined;
}

/** The `sse` feed of a config file. Connection changes are logged; a stop also marks the feed down. */
export function sseFeedFromConfig(config: SseFeedConfig, context: FeedContext): FeedSource {
  const log = context.logger?.child({ feed: config.id });
  const outputs$ = sseFeedOutputs({
    url: config.url,
    format: config.format,
    headers: config.headers,
    maxLineBytes: config.maxLineBytes,
    reconnect: config.reconnect,
    idleTimeoutMs: config.idleTimeoutMs,
    scheduler: context.scheduler,
    onConnection: (event) => {
      if (event.type === 'open') log?.info({ url: event.url, lastEventId: event.lastEventId }, 'SSE connected');
      else if (event.type === 'reconnecting')
        log?.warn({ reason: event.error.message, attempt: event.attempt, delayMs: event.delayMs }, 'SSE reconnecting');
      else log?.error({ reason: event.error.message }, 'SSE stopped: not reconnecting');
    },
  }).pipe(share());
  return {
    id: config.id,
    // An idle upstream sending keep-alives stays live.
    alive$: outputs$.pipe(aliveSignals()),
    symbols: (config.symbols ?? []).map((symbol) => ({ symbol: normalizeSymbol(symbol) })),
    quotes$: outputs$.pipe(quoteValues()),
  };
}
