import { catchError, EMPTY, type MonoTypeOperatorFunction, type Observable, tap } from 'rxjs';
import type { FeedState, FeedStatus } from '../protocol.js';

type Entry = { lastTs?: number; lastSeen?: number; down: boolean; replay: boolean; gaps: number };

/**
 * Tracks each feed's liveness: `live` while it ticked within `staleAfterMs`, `stale` after, `down` when it
 * failed or ended. Also counts upstream sequence gaps reported by the feeds.
 */
export class FeedHealth {
  private readonly feeds = new Map<string, Entry>();

  constructor(
    private readonly staleAfterMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  register(id: string, options: { replay?: boolean } = {}): void {
    if (!this.feeds.has(id)) this.feeds.set(id, { down: false, replay: options.replay ?? false, gaps: 0 });
  }

  /**
   * Wraps a feed: marks it seen on each value, and down (without failing the merged stream) when it errors
   * or completes. `onError` hears why.
   */
  track<T extends { ts: number }>(id: string, onError?: (err: unknown) => void): MonoTypeOperatorFunction<T> {
    this.register(id);
    return (source: Observable<T>) =>
      source.pipe(
        tap({
          next: (value) => this.markSeen(id, value.ts),
          complete: () => this.markDown(id),
        }),
        catchError((err: unknown) => {
          this.markDown(id);
          onError?.(err);
          return EMPTY;
        }),
      );
  }

  markSeen(id: string, ts?: number): void {
    const entry = this.entry(id);
    entry.lastSeen = this.now();
    if (ts !== undefined) entry.lastTs = ts;
    entry.down = false;
  }

  markDown(id: string): void {
    this.entry(id).down = true;
  }

  recordGap(id: string): void {
    this.entry(id).gaps++;
  }

  state(id: string): FeedState {
    const entry = this.entry(id);
    if (entry.down) return 'down';
    if (entry.replay) return 'replay';
    if (entry.lastSeen === undefined || this.now() - entry.lastSeen > this.staleAfterMs) return 'stale';
    return 'live';
  }

  statuses(): FeedStatus[] {
    return [...this.feeds.entries()].map(([id, entry]) => {
      const status: FeedStatus = { id, state: this.state(id) };
      if (entry.lastTs !== undefined) status.lastTs = entry.lastTs;
      if (entry.gaps) status.gaps = entry.gaps;
      return status;
    });
  }

  private entry(id: string): Entry {
    let entry = this.feeds.get(id);
    if (!entry) {
      entry = { down: false, replay: false, gaps: 0 };
      this.feeds.set(id, entry);
    }
    return entry;
  }
}
