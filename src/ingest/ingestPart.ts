import {
  asyncScheduler,
  BehaviorSubject,
  type Connectable,
  connectable,
  Observable,
  type SchedulerLike,
  Subject,
  Subscription,
} from 'rxjs';
import type { Config } from '../config/schema.js';
import { createFeed } from '../feeds/index.js';
import type { FeedSource, ReplayControl } from '../feeds/types.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Quote, Status } from '../protocol.js';
import { recordTo } from '../record/recordTo.js';
import { RecordingWriter } from '../record/writer.js';
import { configuredPipeline } from './configuredPipeline.js';
import { Epochs } from './epochs.js';
import { FeedHealth } from './feedHealth.js';
import { chartHistory, type IntradayHistory, intoHistory } from './intradayHistory.js';
import { LastValueCache } from './lastValueCache.js';
import { currentStatus } from './serviceStatus.js';
import { SymbolDirectory } from './symbolDirectory.js';

export type IngestPartOptions = {
  config: Config;
  metrics: Metrics;
  logger: Logger;
  scheduler?: SchedulerLike;
  /** Feeds to use instead of those the config names (tests, embedding). */
  feeds?: FeedSource[];
};

/**
 * The ingest part (ARCHITECTURE.md, beside the repository in ../shared): feeds -> pipeline -> one numbered quote stream per symbol, with the
 * last-value cache, the chart history, the symbol directory and the feeds' status. It knows nothing of
 * sockets: an edge in the same process reads it through `quotes(symbol)` (a QuoteSource), the ingest role
 * publishes the same to Redis. Asking for a symbol's quotes is what makes it demanded upstream.
 */
export class IngestPart {
  readonly cache = new LastValueCache();
  readonly directory = new SymbolDirectory();
  readonly health: FeedHealth;
  readonly history: IntradayHistory;
  readonly epochs = new Epochs();
  readonly feeds: readonly FeedSource[];
  readonly replay?: ReplayControl;
  /**
   * Every quote the pipeline numbers, while `start()`'s subscription runs. Subscribing does not start the
   * pipeline, `start()` does, once its own consumers listen: a feed may emit on its first subscription, and
   * every consumer (router, history, recording, Redis writers subscribed before `start()`) sees that quote.
   */
  readonly quotes$: Observable<Quote>;
  /** Each time a feed jumped in time (a replay seek or loop), after the epoch moved on and the caches were reset. */
  readonly discontinuities$: Observable<string>;

  /**
   * The symbols someone listens to (`quotes(symbol)`), as they change; a new subscriber gets the current set
   * first. Feeds whose vendor lets them choose subscribe upstream only to these.
   */
  readonly demand$: Observable<ReadonlySet<string>>;

  /** Each listened symbol's hub: the one record of who listens to what, which the demand is read from. */
  private readonly bySymbol = new Map<string, Subject<Quote>>();
  // A BehaviorSubject because feeds subscribe at any time and need the current set first.
  private readonly demand = new BehaviorSubject<ReadonlySet<string>>(new Set());
  private readonly jumps = new Subject<string>();
  private readonly pipeline: Connectable<Quote>;

  constructor(private readonly options: IngestPartOptions) {
    const { config, metrics, logger } = options;
    const scheduler = options.scheduler ?? asyncScheduler;
    this.demand$ = this.demand.asObservable();
    this.health = new FeedHealth(config.staleAfterMs);
    metrics.followFeeds(() => this.health.statuses());
    this.feeds =
      options.feeds ??
      config.feeds.map((feed) => createFeed(feed, { scheduler, market: config.market, demand$: this.demand$, logger }));
    this.replay = this.feeds.find((feed) => feed.control)?.control;
    this.history = chartHistory(this.feeds);
    this.discontinuities$ = this.jumps.asObservable();
    const numbered = configuredPipeline(this.feeds, {
      config,
      metrics,
      logger,
      health: this.health,
      cache: this.cache,
      directory: this.directory,
      epochs: this.epochs,
      scheduler,
      // What the feed emits next restates the market at another moment: values and bars from the other side of
      // the jump must not survive it (a symbol first seen after a seek's position has no value yet).
      onDiscontinuity: (feed) => {
        this.cache.clear();
        this.history.clear();
        this.jumps.next(feed);
      },
    });
    // A new Subject per connection, so that a part started again after a stop runs the feeds again.
    this.pipeline = connectable(numbered, { connector: () => new Subject<Quote>(), resetOnDisconnect: true });
    this.quotes$ = this.pipeline;
  }

  /** The quotes of one symbol as the pipeline numbers them, for as long as someone listens (its demand). */
  quotes(symbol: string): Observable<Quote> {
    return new Observable<Quote>((subscriber) => {
      let hub = this.bySymbol.get(symbol);
      if (!hub) {
        hub = new Subject<Quote>();
        this.bySymbol.set(symbol, hub);
        this.demandChanged();
      }
      const inner = hub.subscribe(subscriber);
      const owner = hub;
      return () => {
        inner.unsubscribe();
        if (owner.observed || this.bySymbol.get(symbol) !== owner) return;
        this.bySymbol.delete(symbol);
        this.demandChanged();
      };
    });
  }

  /** A new set each time: feeds may keep the one they got. */
  private demandChanged(): void {
    this.demand.next(new Set(this.bySymbol.keys()));
  }

  /** The feeds' states and the market session (of the recorded moment during a replay). */
  status(): Status {
    const { replay } = this;
    return currentStatus({
      health: this.health,
      market: this.options.config.market,
      replay: replay && (() => replay.status()),
    });
  }

  /** Runs the feeds and the pipeline (routing to `quotes(symbol)`, history, recording); unsubscribe to stop. */
  start(): Subscription {
    const { config, logger } = this.options;
    const running = new Subscription();
    running.add(this.quotes$.subscribe((quote) => this.bySymbol.get(quote.symbol)?.next(quote)));
    running.add(
      this.quotes$
        .pipe(intoHistory(this.history))
        .subscribe({ error: (err: unknown) => logger.error({ err }, 'chart history stopped; quotes go on') }),
    );
    if (config.record.enabled) {
      const writer = new RecordingWriter({
        out: config.record.out,
        rotate: config.record.rotate,
        sources: this.feeds.map((feed) => feed.id),
        symbols: this.feeds.flatMap((feed) => feed.symbols),
      });
      // A recording that cannot be written (disk full, permissions) ends; the service goes on serving.
      running.add(
        this.quotes$.pipe(recordTo(writer)).subscribe({
          error: (err: unknown) =>
            logger.error({ err, out: config.record.out, records: writer.records }, 'recording stopped: cannot write'),
        }),
      );
      logger.info({ out: config.record.out }, 'recording the merged quote stream');
    }
    // Last, once every consumer listens (see quotes$).
    running.add(this.pipeline.connect());
    return running;
  }
}
