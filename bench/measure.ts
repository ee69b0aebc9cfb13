import type { Deadline } from './budget.js';
import { judge, type Verdict } from './criteria.js';
import { type LatencySummary, LoadPool, type Percentiles, type PoolOpened } from './loadgen/pool.js';
import type { BenchOptions } from './options.js';
import { type ServerKind, ServerProcess, type Workload } from './serverProcess.js';
import { subscriptionsFor, type WorkloadKind } from './workload.js';

/** One server measured under one workload at one size: what the tables, the step search and the chart read. */
export type Row = {
  server: ServerKind;
  workload: WorkloadKind;
  sockets: number;
  connected: number;
  /** Sockets not open after the open phase (of them: timed out, and never tried). */
  failed: number;
  /** Not subscribed within the handshake timeout. */
  timedOut: number;
  /** Never opened: past the open deadline, or (step search) once the step had already failed. */
  notAttempted: number;
  /** Updates that arrived within 1 s of their `ts`; later ones are a backlog draining, not throughput. */
  deliveredPerSec: number;
  latePerSec: number;
  framesPerSec: number;
  /** Conflating servers: frames received over those owed (hz per subscribed socket); naive: undefined. */
  framesOfDemand?: number;
  ageMs: Percentiles;
  lagMs: Percentiles;
  /** Subscribe to ack, of the open phase's sockets (each opened while those before it stream). */
  ackMs: LatencySummary;
  /** Sockets opened one by one during the measured window: the admission case. */
  admission: {
    probes: number;
    admitted: number;
    failed: number;
    /** Still waiting at the end of the window: `openToSubscribedMs` counts their wait so far. */
    pending: number;
    ackMs: LatencySummary;
    openToSubscribedMs: LatencySummary;
    firstError?: string;
  };
  /** Bytes of the frames that carried quotes, per quote received. */
  bytesPerUpdate: number;
  /** Whether the generator asked for field deltas (`--deltas`, tickstream only). */
  deltasRequested: boolean;
  serverCpuPct: number;
  cpuMsPer1kDelivered: number;
  serverRssMb: number;
  receivedOverSent: number;
  generatorMaxElu: number;
  generatorLoopDelayP99Ms: number;
  /** tickstream only: sockets throttled or cut by its slow-consumer policy since it started. */
  slowConsumerActions: number;
  verdict: Verdict;
};

export type IdleRss = {
  server: ServerKind;
  sockets: number;
  bytesPerSocket: number;
  bytesPerSocketAfterGc: number;
  marginalBytesPerSocketAfterGc: number;
  /** The JavaScript heap in use after the full GC, per socket over the baseline: no page slack in it. */
  heapBytesPerSocket: number;
  baselineMb: number;
  baselineAfterGcMb: number;
};

/** What every measurement of a run shares. */
export type RunContext = { options: BenchOptions; serverWorkload: Workload };

/**
 * A saturated server (the naive one) may never take every socket: it is measured with those it took by
 * the open deadline, at least MIN_OPEN_DEADLINE_MS, OPEN_DEADLINE_MS_PER_SOCKET per socket (four times
 * what a server that keeps up needs), at most OPEN_DEADLINE_MS.
 */
const OPEN_DEADLINE_MS = 90_000;
const MIN_OPEN_DEADLINE_MS = 10_000;
const OPEN_DEADLINE_MS_PER_SOCKET = 6;
const openDeadlineCapMs = (sockets: number) =>
  Math.min(OPEN_DEADLINE_MS, Math.max(MIN_OPEN_DEADLINE_MS, sockets * OPEN_DEADLINE_MS_PER_SOCKET));
const CONNECT_CONCURRENCY = 50;
/** Expected costs, for the time budget: starting and stopping a server, and opening a socket. */
const START_STOP_MS = 5000;
const OPEN_MS_PER_SOCKET = 1.5;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => process.stderr.write(`${line}\n`);
const kb = (bytes: number) => (bytes / 1024).toFixed(1);

/** What a run of `sockets` for `measuredS` after the warm-up is expected to take. */
export function runCostMs(options: BenchOptions, sockets: number, measuredS: number): number {
  return START_STOP_MS + sockets * OPEN_MS_PER_SOCKET + (options.warmupS + measuredS) * 1000;
}

/** What the idle-socket measurement is expected to take. */
export function idleCostMs(options: BenchOptions): number {
  return START_STOP_MS + options.idleSockets * OPEN_MS_PER_SOCKET + 4 * settleMs(options) + 3000;
}

const settleMs = (options: BenchOptions) => (options.quick ? 1500 : 3000);

export type RunRequest = {
  kind: ServerKind;
  workload: WorkloadKind;
  sockets: number;
  measuredS: number;
  deadline: Deadline;
  /** The step search stops opening once this many sockets failed: the step has failed already. */
  giveUpAfterFailures?: number;
};

/** Measures one server; `skipped` when the run would not end by its deadline. */
export async function measure(context: RunContext, request: RunRequest): Promise<Row | { skipped: string }> {
  const { options } = context;
  const { kind, sockets, measuredS, deadline } = request;
  const cost = runCostMs(options, sockets, measuredS);
  if (!deadline.fits(cost)) return { skipped: `time budget (${Math.round(deadline.remainingMs() / 1000)} s left)` };
  // The open phase may take what the deadline leaves beyond the rest of the run, within its cap, and never
  // less than MIN_OPEN_DEADLINE_MS: a loaded machine opens slower than planned, and a step must not fail for
  // the budget's sake (the budget's later parts make up for an overrun).
  const openDeadlineMs = Math.min(
    openDeadlineCapMs(sockets),
    Math.max(MIN_OPEN_DEADLINE_MS, deadline.remainingMs() - cost + sockets * OPEN_MS_PER_SOCKET),
  );
  const startedAt = Date.now();
  log(
    `- ${kind} (${request.workload}): ${sockets} sockets at ${options.hz} Hz, ${measuredS}s, ${options.probes} probes`,
  );
  const server = await ServerProcess.start(kind, context.serverWorkload, options.resultsDir);
  const phases = { startMs: Date.now() - startedAt, openMs: 0 };
  const pool = new LoadPool();
  const whileAlive = <T>(work: Promise<T>): Promise<T> => Promise.race([work, server.crashed]);
  const subscriptionOptions = {
    perSocket: options.perSocket,
    universe: options.symbols,
    seed: options.seed,
    watchlistShare: options.watchlistShare,
    zipfExponent: options.zipfExponent,
  };
  try {
    const opened = await whileAlive(
      openSockets(context, pool, server, subscriptionsFor(request.workload, sockets, subscriptionOptions), {
        openDeadlineMs,
        giveUpAfterFailures: request.giveUpAfterFailures,
      }),
    );
    phases.openMs = Date.now() - startedAt - phases.startMs;
    if (opened.failed) log(`  ${opened.failed} sockets failed to open: ${opened.firstError}`);
    await whileAlive(sleep(options.warmupS * 1000));
    // Probes draw their sets from the same workload, another seed: sockets like the others, opened later.
    const probeSets = subscriptionsFor(request.workload, options.probes, {
      ...subscriptionOptions,
      seed: options.seed + 1,
    });
    // The server's counters are read outside the generator's window, so "sent" covers at least what the
    // generator counted: a server slow to answer them (saturated) shows as received/sent under 1, not over.
    const c0 = await whileAlive(server.counters());
    pool.reset();
    pool.probe(probeSets, measuredS * 1000 * 0.8);
    const s0 = server.sample();
    await whileAlive(sleep(measuredS * 1000));
    const s1 = server.sample();
    const report = await whileAlive(pool.report());
    const c1 = await whileAlive(server.counters());
    const seconds = (s1.at - s0.at) / 1000;
    const cpuMs = s1.cpuMs - s0.cpuMs;
    const delivered = report.received - report.late;
    const receivedOverSent = report.received / (c1.sent - c0.sent);
    const framesOfDemand = kind === 'naive' ? undefined : report.frames / (report.subscribedSocketSeconds * options.hz);
    const row: Row = {
      server: kind,
      workload: request.workload,
      sockets,
      connected: opened.connected,
      failed: opened.failed,
      timedOut: opened.timedOut,
      notAttempted: opened.notAttempted,
      deliveredPerSec: delivered / seconds,
      latePerSec: report.late / seconds,
      framesPerSec: report.frames / seconds,
      framesOfDemand,
      ageMs: report.age,
      lagMs: report.lag,
      ackMs: opened.ack,
      admission: {
        probes: options.probes,
        admitted: report.probes.admitted,
        failed: report.probes.failed,
        pending: report.probes.pending,
        ackMs: report.probes.ack,
        openToSubscribedMs: report.probes.admission,
        firstError: report.probes.firstError,
      },
      bytesPerUpdate: report.tickBytes / report.received,
      deltasRequested: deltasFor(context, kind) !== undefined,
      serverCpuPct: (cpuMs / (seconds * 1000)) * 100,
      cpuMsPer1kDelivered: delivered > 0 ? cpuMs / (delivered / 1000) : Number.NaN,
      serverRssMb: s1.rssBytes / 2 ** 20,
      receivedOverSent,
      slowConsumerActions: c1.slowConsumerActions,
      generatorMaxElu: report.maxElu,
      generatorLoopDelayP99Ms: report.maxLoopDelayP99Ms,
      verdict: judge({ failed: opened.failed, lagP99Ms: report.lag.p99, receivedOverSent, framesOfDemand }),
    };
    log(
      `  ${Math.round(row.deliveredPerSec)} updates/s${row.latePerSec ? ` (+${Math.round(row.latePerSec)}/s late)` : ''}, lag p99 ${row.lagMs.p99} ms, cpu ${row.serverCpuPct.toFixed(0)}%, ` +
        `recv/sent ${row.receivedOverSent.toFixed(3)}${framesOfDemand === undefined ? '' : `, ${framesOfDemand.toFixed(3)} of frames owed`}, ` +
        `ack p99 ${row.ackMs.p99} ms, admission p99 ${row.admission.openToSubscribedMs.p99} ms, ${row.bytesPerUpdate.toFixed(0)} B/update, ` +
        `generator ELU ${row.generatorMaxElu.toFixed(2)}${row.slowConsumerActions ? `, ${row.slowConsumerActions} slow-consumer actions` : ''}; ` +
        (row.verdict.passes ? 'holds' : `does not hold: ${row.verdict.reasons.join(', ')}`),
    );
    return row;
  } finally {
    await pool.close();
    await server.stop();
    const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    log(
      `  took ${seconds(Date.now() - startedAt)}: server start ${seconds(phases.startMs)}, open ${seconds(phases.openMs)}`,
    );
  }
}

/** The `--deltas` request for a server that could negotiate it (tickstream), else none. */
function deltasFor(context: RunContext, kind: ServerKind): Record<string, unknown> | undefined {
  return context.options.deltas && kind === 'tickstream' ? { deltas: true } : undefined;
}

/** Opens one generator socket per entry of `subscriptions` (its symbols; none: an idle socket) to `server`. */
function openSockets(
  context: RunContext,
  pool: LoadPool,
  server: ServerProcess,
  subscriptions: string[][],
  limits: { openDeadlineMs: number; giveUpAfterFailures?: number },
): Promise<PoolOpened> {
  const { options } = context;
  return pool.open(
    {
      urls: [server.url.replace('http', 'ws')],
      protocol: server.kind === 'raw' ? 'raw' : 'socketio',
      parser: server.kind === 'tickstream' ? options.parser : 'json',
      sockets: subscriptions,
      hz: options.hz,
      connectConcurrency: CONNECT_CONCURRENCY,
      handshakeTimeoutMs: options.handshakeTimeoutS * 1000,
      openDeadlineMs: limits.openDeadlineMs,
      giveUpAfterFailures: limits.giveUpAfterFailures,
      connectAuth: deltasFor(context, server.kind),
      threads: options.threads,
    },
    limits.openDeadlineMs + options.handshakeTimeoutS * 1000 + 10_000,
  );
}

/**
 * Server RSS per idle (connected, unsubscribed) socket. As read: (RSS with N) minus (RSS before any), over N,
 * each read before that point's forced GC (a GC also runs halfway); this also counts what the process grows
 * by once, whatever the count (V8's young generation grows to its working size during the connection burst)
 * and garbage not yet collected. After a full garbage collection
 * (through the inspector) at each point: what the sockets keep alive, over the baseline and marginally (the
 * second N/2 over the first).
 */
export async function idleRss(context: RunContext, kind: ServerKind, sockets: number): Promise<IdleRss> {
  log(`- ${kind}: RSS with ${sockets} idle sockets`);
  const server = await ServerProcess.start(kind, context.serverWorkload, context.options.resultsDir, { inspect: true });
  const pool = new LoadPool();
  const open = (count: number) =>
    openSockets(
      context,
      pool,
      server,
      Array.from({ length: count }, () => []),
      { openDeadlineMs: openDeadlineCapMs(count) },
    );
  const settle = () => sleep(settleMs(context.options));
  const afterGc = async () => {
    const { usedHeapBytes } = await server.collectGarbage();
    await sleep(1000);
    return { rss: server.sample().rssBytes, heap: usedHeapBytes };
  };
  try {
    await settle();
    const before = server.sample().rssBytes;
    const beforeGc = await afterGc();
    const half = Math.floor(sockets / 2);
    await open(half);
    await settle();
    const middleGc = await afterGc();
    await open(sockets - half);
    await settle();
    const after = server.sample().rssBytes;
    const endGc = await afterGc();
    const result = {
      server: kind,
      sockets,
      bytesPerSocket: (after - before) / sockets,
      bytesPerSocketAfterGc: (endGc.rss - beforeGc.rss) / sockets,
      marginalBytesPerSocketAfterGc: (endGc.rss - middleGc.rss) / (sockets - half),
      heapBytesPerSocket: (endGc.heap - beforeGc.heap) / sockets,
      baselineMb: before / 2 ** 20,
      baselineAfterGcMb: beforeGc.rss / 2 ** 20,
    };
    log(
      `  ${kb(result.bytesPerSocket)} KB per idle socket over the baseline as read (before the forced GCs); after a full GC ${kb(result.bytesPerSocketAfterGc)} KB, ${kb(result.marginalBytesPerSocketAfterGc)} KB marginal, JS heap ${kb(result.heapBytesPerSocket)} KB`,
    );
    return result;
  } finally {
    await pool.close();
    await server.stop();
  }
}
