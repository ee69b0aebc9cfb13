import { createServer, type Server as HttpServer } from 'node:http';
import { asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs';
import { Server } from 'socket.io';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { AccessPolicy } from './accessPolicy.js';
import { ADMIN_UI_ROOT, instrumentAdminUi } from './adminUi.js';
import { ClientRequests } from './clientRequests.js';
import { compactConnection, releaseUpgradeRequests, slimHandshakeRequest } from './engine.js';
import { httpRoutes } from './httpRoutes.js';
import { listenWithMetrics, type MetricsListener } from './metricsListener.js';
import { ServerProtection } from './protection.js';
import { socketInfo, socketOptions } from './socketOptions.js';
import { statusChanges } from './statusBoard.js';
import { jsonTicks, msgpackTicks } from './ticksFrame.js';
import { TierDelivery } from './tierDelivery.js';
import { TierMembership } from './tierMembership.js';
import type { EdgeSources, TickstreamServer, TickstreamSocket } from './types.js';

/** What the edge reads of the configuration (a role's whole Config is one). */
export type EdgeConfig = Pick<Config, 'server' | 'auth' | 'limits' | 'pipeline' | 'cluster'>;

export type EdgeOptions = {
  config: EdgeConfig;
  sources: EdgeSources;
  metrics: Metrics;
  logger: Logger;
  scheduler?: SchedulerLike;
  /** Folder of the built dashboard to serve. */
  webRoot?: string;
};

export type Edge = {
  readonly url: string;
  readonly port: number;
  /** Where /metrics is served when it has an address of its own (`server.metricsPort`). */
  readonly metricsUrl: string | undefined;
  readonly io: TickstreamServer;
  readonly http: HttpServer;
  readonly membership: TierMembership;
  close(): Promise<void>;
};

/**
 * The edge part (ARCHITECTURE.md, beside the repository in ../shared): HTTP routes, the Socket.IO server, protection, tier membership,
 * conflation per tier and the frames, over whatever `sources` the role gives it. Every role that holds
 * client connections runs this same code: `serve` over the local ingest part, `gateway` over Redis.
 */
export async function startEdge(options: EdgeOptions): Promise<Edge> {
  const { config, sources, metrics, logger } = options;
  const scheduler = options.scheduler ?? asyncScheduler;
  // One access policy for every entry point: HTTP routes, the handshake and the socket events.
  const access = new AccessPolicy(config.auth);
  const http = edgeHttpServer(options, access);
  const protection = new ServerProtection({
    config,
    access,
    metrics,
    logger,
    status: sources.status,
    snapshots: sources.lastValues,
  });
  const io: TickstreamServer = new Server(http, { ...socketOptions(config), ...protection.serverOptions() });
  releaseUpgradeRequests(io.engine);

  const membership = new TierMembership(config.pipeline.lanes);
  metrics.countSubscriptions(() => membership.size);
  const delivery = tierDelivery(options, membership, scheduler);
  membership.follow(delivery);
  protection.attach(io, http, membership);
  const requests = new ClientRequests({
    limits: { ...config.limits, tiers: config.pipeline.tiers, defaultHz: config.pipeline.defaultHz },
    sources,
    membership,
    metrics,
    logger,
    access,
  });
  acceptSockets(io, options, requests, membership);
  // Every process holds its own clients: `local`, never through an adapter.
  const statusUpdates: Subscription = statusChanges(sources.status, 250, scheduler).subscribe((status) =>
    io.local.emit('status', status),
  );

  let metricsListener: MetricsListener | undefined;
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      // Protection refuses new handshakes first: a client told to go (and disconnected) must not get back in
      // while the others drain, only to be dropped without the notice. It stops listening once the polling
      // clients have polled for their last packets; open connections stay until they drain or are cut.
      statusUpdates.unsubscribe();
      await protection.shutdown(io);
      delivery.stop();
      await new Promise<void>((resolve) => io.close(() => resolve()));
      http.closeAllConnections();
      await metricsListener?.close();
    })();
    return closing;
  };
  const listening = await listenWithMetrics(http, config.server, { access, metrics }, close);
  metricsListener = listening.metricsListener;
  const { url, port } = listening;
  if (config.server.adminUi.enabled) instrumentAdminUi(io, { config, access, membership, metrics, logger, port });

  return { url, port, metricsUrl: metricsListener?.url, io, http, membership, close };
}

/** The HTTP server of the edge's routes (and the Admin UI's pages when it is on); Socket.IO attaches to it. */
function edgeHttpServer({ config, sources, metrics, webRoot }: EdgeOptions, access: AccessPolicy): HttpServer {
  const routes = httpRoutes({
    metrics,
    access,
    metricsApart: config.server.metricsPort !== undefined,
    status: sources.status,
    readiness: sources.readiness,
    sources,
    maxSymbolsPerRequest: config.limits.maxSymbolsPerRequest,
    webRoot,
    adminUiRoot: config.server.adminUi.enabled ? ADMIN_UI_ROOT : undefined,
    socket: socketInfo(config),
  });
  return createServer(routes);
}

/** Conflation per tier and the frames, counted in the metrics. */
function tierDelivery(
  { config, sources, metrics }: EdgeOptions,
  membership: TierMembership,
  scheduler: SchedulerLike,
): TierDelivery {
  return new TierDelivery({
    membership,
    source: sources.quotes,
    // Frames are pre-encoded, so they must be in the parser's encoding.
    encoding: config.server.parser === 'msgpack' ? msgpackTicks : jsonTicks,
    promptAfterMs: config.pipeline.promptAfterMs,
    scheduler,
    onDelivered: (counts) => {
      metrics.updatesOut.inc(counts.updates);
      metrics.deliveriesOut.inc(counts.deliveries);
      metrics.framesEncoded.inc(counts.framesEncoded);
      metrics.framesWritten.inc(counts.framesWritten);
    },
  });
}

/** Each admitted socket: slimmed, counted, its requests served, the status sent; on disconnect, let go. */
function acceptSockets(
  io: TickstreamServer,
  { sources, metrics, logger }: EdgeOptions,
  requests: ClientRequests,
  membership: TierMembership,
): void {
  // One listener for every socket (it reads its socket from `this`): a closure per socket is memory per socket.
  const onDisconnect = function (this: TickstreamSocket, reason: string): void {
    const why = this.data.closeReason?.toLowerCase() ?? reason;
    metrics.disconnects.inc({ reason: why });
    if (logger.isLevelEnabled('debug')) requests.logOf(this).debug({ reason: why }, 'disconnected');
    metrics.connections.dec();
    membership.leave(this);
  };
  // A middleware, after the auth one (which reads the credentials): the Admin UI's own 'connection' listener
  // runs before this file's and shows the socket's handshake to a logged-in admin.
  io.use((socket, next) => {
    slimHandshakeRequest(socket);
    next();
  });
  io.on('connection', (socket) => {
    // Field deltas are asked for in the handshake (docs/PROTOCOL.md): its frames then carry `deltas`.
    const { auth } = socket.handshake;
    if (typeof auth === 'object' && auth !== null && 'deltas' in auth && auth.deltas === true)
      socket.data.deltas = true;
    metrics.connections.inc();
    requests.accept(socket);
    socket.emit('status', sources.status());
    socket.on('disconnect', onDisconnect);
    // Last, once its listeners are all on: a compacted table that gains keys gets a hidden class of its own.
    compactConnection(socket);
  });
}
