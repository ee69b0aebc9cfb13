import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { asyncScheduler, EMPTY, merge, type SchedulerLike, Subscription } from 'rxjs';
import { Server } from 'socket.io';
import type { Config } from './config/schema.js';
import { Gateway } from './delivery/gateway.js';
import { httpRoutes } from './delivery/httpRoutes.js';
import { ServerProtection } from './delivery/protection.js';
import { socketInfo, socketOptions } from './delivery/socketOptions.js';
import { currentStatus, statusChanges } from './delivery/statusBoard.js';
import { jsonTicks, msgpackTicks } from './delivery/ticksFrame.js';
import { TierRoomPublisher } from './delivery/tierRooms.js';
import type { TickstreamServer } from './delivery/types.js';
import { createFeed, type FeedSource } from './feeds/index.js';
import { createLogger, type Logger } from './log.js';
import { Metrics } from './metrics.js';
import { configuredPipeline } from './pipeline/configuredPipeline.js';
import { ConflatedStreams } from './pipeline/conflatedStreams.js';
import { FeedHealth } from './pipeline/feedHealth.js';
import { chartHistory, intoHistory } from './pipeline/intradayHistory.js';
import { LastValueCache } from './pipeline/lastValueCache.js';
import { SymbolDemand } from './pipeline/symbolDemand.js';
import { SymbolDirectory } from './pipeline/symbolDirectory.js';
import type { Quote } from './protocol.js';
import { recordTo } from './record/recordTo.js';
import { RecordingWriter } from './record/writer.js';

export type TickstreamOptions = {
  config: Config;
  logger?: Logger;
  scheduler?: SchedulerLike;
  /** Feeds to use instead of those the config names (tests, embedding). */
  feeds?: FeedSource[];
  /** Folder of the built dashboard to serve. */
  webRoot?: string;
};

export type Tickstream = {
  readonly url: string;
  readonly port: number;
  readonly io: TickstreamServer;
  readonly http: HttpServer;
  readonly cache: LastValueCache;
  readonly metrics: Metrics;
  readonly health: FeedHealth;
  close(): Promise<void>;
};

/** Assembles feeds -> pipeline -> delivery in one process and starts listening. */
export async function startTickstream(options: TickstreamOptions): Promise<Tickstream> {
  const { config } = options;
  const logger = options.logger ?? createLogger(config.log.level);
  const scheduler = options.scheduler ?? asyncScheduler;
  const metrics = new Metrics();
  const cache = new LastValueCache();
  const directory = new SymbolDirectory();
  const health = new FeedHealth(config.staleAfterMs);
  const demand = new SymbolDemand();
  const feeds =
    options.feeds ??
    config.feeds.map((feed) => createFeed(feed, { scheduler, market: config.market, demand$: demand.demand$, logger }));
  const subscriptions = new Subscription();
  // A replay feed brings its controls (the `replay` event and status.replay).
  const replay = feeds.find((feed) => feed.control)?.control;
  const history = chartHistory(feeds);
  // A feed that jumps in time (a replay seek or loop) restates its symbols next: values from the old timeline
  // go (a symbol first seen after the new position must not keep one), and charts are seeded again from the
  // feed's history at the new position.
  subscriptions.add(
    merge(...feeds.map((feed) => feed.discontinuities$ ?? EMPTY)).subscribe(() => {
      cache.clear();
      history.clear();
    }),
  );

  const quotes$ = configuredPipeline(feeds, { config, metrics, logger, health, cache, directory, scheduler });

  const statusSources = {
    health,
    market: config.market,
    replay: replay ? () => replay.status() : undefined,
  };
  const status = () => currentStatus(statusSources);

  const http = createServer(
    httpRoutes({
      metrics,
      status,
      directory,
      cache,
      maxSymbolsPerRequest: config.limits.maxSymbolsPerRequest,
      webRoot: options.webRoot,
      history,
      socket: socketInfo(config),
    }),
  );
  const protection = new ServerProtection({ config, metrics, logger, status, snapshots: cache });
  const io: TickstreamServer = new Server(http, { ...socketOptions(config), ...protection.serverOptions() });
  protection.attach(io, http);

  const streams = new ConflatedStreams(scheduler, config.pipeline.conflation, config.pipeline.lanes);
  const publisher = new TierRoomPublisher(
    io,
    streams,
    (_quote, _room, recipients, first) => {
      if (first) metrics.updatesOut.inc();
      metrics.deliveriesOut.inc(recipients);
    },
    demand,
    // Batched frames are pre-encoded, so they must be in the parser's encoding.
    { encoding: config.server.parser === 'msgpack' ? msgpackTicks : jsonTicks },
  );
  publisher.start();
  new Gateway(io, {
    config,
    cache,
    directory,
    status,
    metrics,
    logger,
    replay,
    isAdmin: protection.isAdmin,
  }).start();

  subscriptions.add(streams.connect(quotes$));
  subscriptions.add(quotes$.pipe(intoHistory(history)).subscribe());
  if (config.record.enabled) {
    const writer = new RecordingWriter({
      out: config.record.out,
      rotate: config.record.rotate,
      sources: feeds.map((feed) => feed.id),
      symbols: feeds.flatMap((feed) => feed.symbols),
    });
    subscriptions.add(quotes$.pipe(recordTo(writer)).subscribe());
    logger.info({ out: config.record.out }, 'recording the merged quote stream');
  }
  subscriptions.add(statusChanges(statusSources).subscribe((s) => io.emit('status', s)));

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(config.server.port, config.server.host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  const host = config.server.host === '0.0.0.0' || config.server.host === '::' ? 'localhost' : config.server.host;
  const url = `http://${host}:${port}`;
  logger.info({ url, feeds: feeds.map((f) => f.id) }, 'tickstream listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    io,
    http,
    cache,
    metrics,
    health,
    close() {
      closing ??= (async () => {
        subscriptions.unsubscribe();
        publisher.stop();
        await protection.shutdown(io);
        await new Promise<void>((resolve) => io.close(() => resolve()));
        http.closeAllConnections?.();
        metrics.close();
        logger.info('tickstream stopped');
      })();
      return closing;
    },
  };
}

export type { Quote };
