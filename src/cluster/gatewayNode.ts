import { createServer, type Server as HttpServer } from 'node:http';
import { createShardedAdapter } from '@socket.io/redis-adapter';
import { asyncScheduler, distinctUntilChanged, map, type SchedulerLike, Subscription, timer } from 'rxjs';
import { Server } from 'socket.io';
import type { Config } from '../config/schema.js';
import { Gateway } from '../delivery/gateway.js';
import { httpRoutes } from '../delivery/httpRoutes.js';
import { ServerProtection } from '../delivery/protection.js';
import { socketInfo, socketOptions } from '../delivery/socketOptions.js';
import { parseTierRoom } from '../delivery/tierRooms.js';
import type { TickstreamServer } from '../delivery/types.js';
import { createLogger, type Logger } from '../log.js';
import { Metrics } from '../metrics.js';
import type { Status } from '../protocol.js';
import { GatewayStatus } from './clusterStatus.js';
import { clusterKeys, historyKey } from './keys.js';
import { listen } from './listen.js';
import { RedisDirectoryMirror } from './redisDirectory.js';
import { RedisHistory } from './redisHistory.js';
import { RedisLastValues } from './redisLastValues.js';
import { countingSubscriber, RedisLink, reportingPublisher } from './redisLink.js';

export type GatewayNodeOptions = {
  config: Config;
  logger?: Logger;
  scheduler?: SchedulerLike;
  /** Folder of the built dashboard to serve. */
  webRoot?: string;
};

export type GatewayNode = {
  readonly url: string;
  readonly port: number;
  readonly io: TickstreamServer;
  readonly http: HttpServer;
  readonly metrics: Metrics;
  readonly link: RedisLink;
  status(): Status;
  close(): Promise<void>;
};

/** What makes a status worth sending again: a state change, not a moving timestamp. */
function significant(status: Status): string {
  return JSON.stringify([status.feeds.map((f) => [f.id, f.state]), status.session?.state, status.cluster]);
}

/**
 * The gateway role: holds client connections and answers requests as in one process, but ticks arrive from
 * ingest through Redis. The sharded adapter in `dynamic` mode subscribes to a room's channel only while a
 * local client is in it, so a gateway receives only the rooms its clients watch. Snapshots, the symbol
 * directory and the feed statuses are read from Redis. Broadcasts of its own are local only.
 */
export async function startGatewayNode(options: GatewayNodeOptions): Promise<GatewayNode> {
  const { config } = options;
  const logger = options.logger ?? createLogger(config.log.level, 'tickstream-gateway');
  const scheduler = options.scheduler ?? asyncScheduler;
  const keys = clusterKeys(config.cluster.keyPrefix);
  const metrics = new Metrics();
  const link = RedisLink.open(config.cluster, logger);
  const subscriptions = new Subscription();
  subscriptions.add(link.up$.subscribe((up) => metrics.redisUp.set(up ? 1 : 0)));

  const cache = new RedisLastValues(link, keys.lastValues, (err) => logger.warn({ err }, 'redis snapshot failed'));
  const directory = new RedisDirectoryMirror(link, keys.symbols);
  const history = new RedisHistory(
    link,
    (symbol) => historyKey(keys, symbol),
    (err) => logger.warn({ err }, 'redis history failed'),
  );
  const gatewayStatus = new GatewayStatus(link, keys.status, config.market);
  const status = () => gatewayStatus.current();
  subscriptions.add(directory.follow(2000, scheduler).subscribe());
  subscriptions.add(gatewayStatus.follow(1000, scheduler));

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
  // The same admission, auth, slow-consumer policy and draining shutdown as the all-in-one server.
  const protection = new ServerProtection({ config, metrics, logger, status, snapshots: cache });
  const io: TickstreamServer = new Server(http, {
    ...socketOptions(config),
    ...protection.serverOptions(),
    adapter: createShardedAdapter(
      reportingPublisher(link.command, (err) => logger.debug({ err }, 'redis publish failed')),
      countingSubscriber(link.sub, () => metrics.redisMessagesIn.inc()),
      { channelPrefix: keys.adapter, subscriptionMode: 'dynamic' },
    ),
  });
  protection.attach(io, http);
  // Announce a new room so ingest starts its stream now rather than at its next poll of the room set.
  io.of('/').adapter.on('create-room', (room: string) => {
    if (!parseTierRoom(room) || !link.isUp()) return;
    link.command.publish(keys.roomAnnouncements, room).catch(() => {});
  });
  new Gateway(io, { config, cache, directory, status, metrics, logger, isAdmin: protection.isAdmin }).start();
  subscriptions.add(
    timer(0, 1000, scheduler)
      .pipe(
        map(status),
        distinctUntilChanged((a, b) => significant(a) === significant(b)),
      )
      .subscribe((s) => io.local.emit('status', s)),
  );

  const { url, port } = await listen(http, config.server.port, config.server.host);
  logger.info({ url, redis: config.cluster.redisUrl }, 'tickstream gateway listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    io,
    http,
    metrics,
    link,
    status,
    close() {
      closing ??= (async () => {
        subscriptions.unsubscribe();
        // Local only (ServerProtection never broadcasts through the adapter): other gateways keep their clients.
        await protection.shutdown(io);
        await io.close();
        http.closeAllConnections();
        await link.close();
        metrics.close();
        logger.info('tickstream gateway stopped');
      })();
      return closing;
    },
  };
}
