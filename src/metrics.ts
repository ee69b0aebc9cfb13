import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { FeedState, FeedStatus } from './protocol.js';

const FEED_STATES: readonly FeedState[] = ['live', 'stale', 'down', 'replay'];

/** The service's Prometheus metrics, in a registry of its own (several servers may share a process in tests). */
export class Metrics {
  readonly registry = new Registry();
  readonly ticksIn = new Counter({
    name: 'tickstream_ticks_in_total',
    help: 'Valid ticks received, per feed',
    labelNames: ['feed'] as const,
    registers: [this.registry],
  });
  readonly badInputs = new Counter({
    name: 'tickstream_bad_inputs_total',
    help: 'Upstream values refused by validation, per feed and reason',
    labelNames: ['feed', 'reason'] as const,
    registers: [this.registry],
  });
  readonly upstreamGaps = new Counter({
    name: 'tickstream_upstream_gaps_total',
    help: 'Upstream sequence gaps detected, per feed',
    labelNames: ['feed'] as const,
    registers: [this.registry],
  });
  readonly updatesOut = new Counter({
    name: 'tickstream_updates_out_total',
    help: 'Conflated symbol updates sent on a rate tier (before fan-out to sockets)',
    registers: [this.registry],
  });
  readonly deliveriesOut = new Counter({
    name: 'tickstream_deliveries_out_total',
    help: 'Symbol updates written to client sockets (after fan-out)',
    registers: [this.registry],
  });
  readonly framesEncoded = new Counter({
    name: 'tickstream_frames_encoded_total',
    help: 'ticks frames encoded (one per group of sockets of a lane that watch the same set)',
    registers: [this.registry],
  });
  readonly framesWritten = new Counter({
    name: 'tickstream_frames_written_total',
    help: 'ticks frames written to sockets (over frames encoded: how many sockets share each frame)',
    registers: [this.registry],
  });
  readonly connections = new Gauge({
    name: 'tickstream_connections',
    help: 'Connected sockets',
    registers: [this.registry],
  });
  /** What the subscriptions gauge reads at each scrape: the edge's tier membership, the one owner of the fact. */
  private subscriptionCount: () => number = () => 0;
  readonly subscriptions: Gauge = new Gauge({
    name: 'tickstream_subscriptions',
    help: 'Symbol subscriptions across all sockets',
    registers: [this.registry],
    collect: () => {
      this.subscriptions.set(this.subscriptionCount());
    },
  });
  readonly requests = new Counter({
    name: 'tickstream_requests_total',
    help: 'Client requests, per event and outcome',
    labelNames: ['event', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly slowConsumerActions = new Counter({
    name: 'tickstream_slow_consumer_actions_total',
    help: 'Actions taken against slow consumers',
    labelNames: ['action'] as const,
    registers: [this.registry],
  });
  readonly disconnects = new Counter({
    name: 'tickstream_disconnects_total',
    help: 'Sockets disconnected, per reason (Socket.IO reasons, or slow_consumer, token_expired)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly authFailures = new Counter({
    name: 'tickstream_auth_failures_total',
    help: 'Handshakes and HTTP requests refused by the access policy, per reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly connectionsRefused = new Counter({
    name: 'tickstream_connections_refused_total',
    help: 'Handshakes refused before auth, per reason (origin, ip_limit, shutdown)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly processErrors = new Counter({
    name: 'tickstream_process_errors_total',
    help: 'Unhandled rejections and uncaught exceptions caught at the process level',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly eventLoopLag = new Gauge({
    name: 'tickstream_event_loop_lag_seconds',
    help: 'Event loop delay p99 over the last scrape interval',
    registers: [this.registry],
  });
  readonly feedState = new Gauge({
    name: 'tickstream_feed_state',
    help: "1 for the state each feed is in (live, stale, down, replay), else 0; on a gateway, the ingest's feeds as last read",
    labelNames: ['feed', 'state'] as const,
    registers: [this.registry],
  });
  readonly conflationRatio = new Gauge({
    name: 'tickstream_conflation_ratio',
    help: 'Ticks in divided by updates published, since start',
    registers: [this.registry],
  });

  /** Roles that use Redis (ingest, gateway) only: a plain `serve` has none, and reports none. */
  readonly redisUp?: Gauge;
  readonly redisPublishFailures?: Counter<'kind'>;
  readonly redisMessagesIn?: Counter;
  readonly redisMessagesOut?: Counter;
  readonly clusterSymbols?: Gauge;

  private readonly loopDelay = monitorEventLoopDelay({ resolution: 20 });
  private feeds?: () => readonly FeedStatus[];

  constructor(options: { redis?: boolean } = {}) {
    // prom-client's own names already start with process_ or nodejs_: tickstream_process_cpu_seconds_total...
    collectDefaultMetrics({ register: this.registry, prefix: 'tickstream_' });
    // prom-client's totals of active handles, requests and resources are gauges named like counters, which
    // promtool faults; each is the sum over `type` of the gauge beside it, so they go.
    for (const kind of ['handles', 'requests', 'resources']) {
      this.registry.removeSingleMetric(`tickstream_nodejs_active_${kind}_total`);
    }
    this.loopDelay.enable();
    if (!options.redis) return;
    const registers = [this.registry];
    this.redisUp = new Gauge({
      name: 'tickstream_redis_up',
      help: 'Cluster roles: 1 while the Redis connections are ready, 0 while they are down',
      registers,
    });
    this.redisPublishFailures = new Counter({
      name: 'tickstream_redis_publish_failures_total',
      help: 'Cluster roles: Redis writes that failed and were dropped (not queued), per kind',
      labelNames: ['kind'] as const,
      registers,
    });
    this.redisMessagesIn = new Counter({
      name: 'tickstream_redis_messages_in_total',
      help: 'Gateway: quote messages received from Redis (sharded channels of the symbols its clients watch)',
      registers,
    });
    this.redisMessagesOut = new Counter({
      name: 'tickstream_redis_messages_out_total',
      help: "Ingest: quotes published to Redis (each once, on its symbol's sharded channel)",
      registers,
    });
    this.clusterSymbols = new Gauge({
      name: 'tickstream_cluster_symbols',
      help: 'Ingest: symbols some gateway watches (published to Redis)',
      registers,
    });
  }
  /** Reads the subscriptions gauge from `count` (the edge's membership) rather than keeping a second tally. */
  countSubscriptions(count: () => number): void {
    this.subscriptionCount = count;
  }

  /** Where `tickstream_feed_state` is read from at each scrape: the feeds of the ingest part. */
  followFeeds(statuses: () => readonly FeedStatus[]): void {
    this.feeds = statuses;
  }

  async render(): Promise<string> {
    const feeds = this.feeds?.();
    // Only the feeds of now: a gateway's set changes (the placeholder 'ingest' feed before the ingest's first
    // status or after it stops, the ingest's own feeds otherwise), and a gone feed must not stay at 1.
    if (feeds) this.feedState.reset();
    for (const feed of feeds ?? []) {
      for (const state of FEED_STATES) this.feedState.set({ feed: feed.id, state }, feed.state === state ? 1 : 0);
    }
    this.eventLoopLag.set(this.loopDelay.percentile(99) / 1e9);
    this.loopDelay.reset();
    const ticks = (await this.ticksIn.get()).values.reduce((sum, v) => sum + v.value, 0);
    const updates = (await this.updatesOut.get()).values.reduce((sum, v) => sum + v.value, 0);
    this.conflationRatio.set(updates > 0 ? ticks / updates : 0);
    return this.registry.metrics();
  }

  close(): void {
    this.loopDelay.disable();
  }
}
