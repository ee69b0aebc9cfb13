/**
 * The types every feed shares, in a leaf module: feeds import them from here (never from feeds/index.ts,
 * which imports the feeds), and nothing here imports delivery.
 */
import type { Observable, SchedulerLike } from 'rxjs';
import type { MarketCalendarConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Bar, ReplayAck, ReplayCommand, ReplayStatus, SymbolInfo } from '../protocol.js';

/** A replay feed's controls (pause, resume, speed, seek) and status; the edge serves them as the `replay` event. */
export type ReplayControl = {
  command(command: ReplayCommand): Promise<ReplayAck> | ReplayAck;
  status(): ReplayStatus;
};

/** A configured upstream: its values are unvalidated until the pipeline's normalizeQuote. */
export type FeedSource = {
  id: string;
  quotes$: Observable<unknown>;
  /** Symbols the feed declares up front (so clients can subscribe before the first tick). */
  symbols: SymbolInfo[];
  /**
   * Symbols the feed can list only once it has asked the vendor (Binance exchangeInfo, Coinbase /products, Kraken
   * `instrument`): each emission declares more, for as long as the feed runs. The pipeline adds them to the
   * SymbolDirectory, the one owner of which symbols are subscribable.
   */
  symbols$?: Observable<readonly SymbolInfo[]>;
  replay?: boolean;
  /** A replay feed's controls (pause, resume, speed, seek) and status; the edge serves them. */
  control?: ReplayControl;
  /** How the feed numbers `upstreamSeq` for gap detection: per symbol (the default) or once for the feed. */
  gapScope?: 'symbol' | 'feed';
  /** Signs of life that are not quotes (an idle but connected upstream); each marks the feed as seen. */
  alive$?: Observable<unknown>;
  /** 1-minute bars from before the feed started (a backfill), so charts do not start empty. */
  history?: (symbol: string) => Bar[];
  /**
   * Each emission says the feed jumped in time (a replay seek or loop): what it emits next does not continue
   * what came before, so the pipeline starts a new `epoch` (a new numbering of `seq`) before its next quote.
   * It must emit before the quotes that follow the jump, in the same turn.
   */
  discontinuities$?: Observable<unknown>;
};

export type FeedContext = {
  scheduler?: SchedulerLike;
  market: MarketCalendarConfig;
  /** The symbols clients watch now; vendor feeds that can choose subscribe upstream only to these. */
  demand$?: Observable<ReadonlySet<string>>;
  /** For feeds that log their connection's ups and downs. */
  logger?: Logger;
};
