import { asyncScheduler, catchError, defer, EMPTY, type Observable, retry, type SchedulerLike, timer } from 'rxjs';
import type { SymbolInfo } from '../protocol.js';
import { backoffDelay } from '../retry.js';
import { failureText } from './fetchFailure.js';

export type SymbolListingOptions = {
  /** A vendor's JSON listing of its symbols (Binance exchangeInfo, Coinbase /products). */
  url: string;
  /** The symbols in the body, or undefined when it is not the listing. */
  decode(body: unknown): SymbolInfo[] | undefined;
  /** Attempts before giving up (the declared symbols stay subscribable either way). */
  attempts?: number;
  retry?: { initialMs: number; maxMs: number };
  timeoutMs?: number;
  onFailure?: (reason: string, attempt: number) => void;
  scheduler?: SchedulerLike;
  fetch?: typeof fetch;
  random?: () => number;
};

/**
 * The symbols a vendor lists, fetched once (GET, JSON): emits them and completes. A failed fetch (network,
 * non-2xx, a body that is not the listing) is retried with jittered backoff, then given up (reported, never an
 * error: a feed works with its declared symbols without it).
 */
export function fetchSymbolListing(options: SymbolListingOptions): Observable<SymbolInfo[]> {
  const fetchImpl = options.fetch ?? fetch;
  const attempts = options.attempts ?? 5;
  const { initialMs, maxMs } = options.retry ?? { initialMs: 1000, maxMs: 30_000 };
  const random = options.random ?? Math.random;
  return defer(async () => {
    const response = await fetchImpl(options.url, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
    });
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(`HTTP ${response.status}`);
    }
    const symbols = options.decode(await response.json());
    if (!symbols) throw new Error("the answer is not the vendor's symbol listing");
    return symbols;
  }).pipe(
    retry({
      count: attempts - 1,
      delay: (error: unknown, attempt) => {
        options.onFailure?.(failureText(error), attempt);
        return timer(backoffDelay(initialMs, maxMs, attempt, random()), options.scheduler ?? asyncScheduler);
      },
    }),
    catchError((error: unknown) => {
      options.onFailure?.(failureText(error), attempts);
      return EMPTY;
    }),
  );
}
