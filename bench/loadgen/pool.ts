import { Worker } from 'node:worker_threads';
import * as hdr from 'hdr-histogram-js';
import type { Probe, WorkerMessage, WorkerPlan, WorkerReady, WorkerReport } from './worker.js';

export type PoolPlan = Omit<WorkerPlan, 'sockets'> & { sockets: string[][]; threads: number };

export type Percentiles = { p50: number; p99: number; p999: number; max: number };
/** Percentiles of a latency sampled a countable number of times (acks: a few per socket, not per frame). */
export type LatencySummary = { count: number; p50: number; p99: number; max: number };

export type PoolOpened = Omit<WorkerReady, 'type' | 'ack'> & {
  /** Subscribe to ack, of the sockets of the open phase (while those opened before them stream). */
  ack: LatencySummary;
};

export type PoolReport = {
  received: number;
  late: number;
  frames: number;
  /** Bytes of the frames that carried quotes. */
  tickBytes: number;
  /** Subscribed sockets times the seconds they were measured: a conflating server owes hz frames each. */
  subscribedSocketSeconds: number;
  age: Percentiles;
  lag: Percentiles;
  /** Sockets opened while the others stream (`probe`): subscribe to ack, and opening to subscribed. */
  probes: {
    ack: LatencySummary;
    /** Pending probes count with their wait so far: with `pending > 0` these are lower bounds. */
    admission: LatencySummary;
    admitted: number;
    failed: number;
    pending: number;
    firstError?: string;
  };
  /** The busiest generator thread's event-loop utilisation over the window (0..1). */
  maxElu: number;
  maxLoopDelayP99Ms: number;
  open: number;
};

const newHistogram = () =>
  hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000, numberOfSignificantValueDigits: 3 });

/** The threads' histograms (hdr compressed base64), added into one. */
function merged(encoded: string[]): hdr.Histogram {
  const histogram = newHistogram();
  for (const e of encoded) histogram.add(hdr.decodeFromCompressedBase64(e));
  return histogram;
}

function percentiles(h: hdr.Histogram): Percentiles {
  return {
    p50: h.getValueAtPercentile(50),
    p99: h.getValueAtPercentile(99),
    p999: h.getValueAtPercentile(99.9),
    max: h.maxValue,
  };
}

function summary(h: hdr.Histogram): LatencySummary {
  return { count: h.totalCount, p50: h.getValueAtPercentile(50), p99: h.getValueAtPercentile(99), max: h.maxValue };
}

const sum = <T>(items: T[], of: (item: T) => number) => items.reduce((total, item) => total + of(item), 0);

/** The load generator: its sockets spread over worker threads, driven in lock step by the harness. */
export class LoadPool {
  private readonly workers: Worker[] = [];

  /** Starts the threads and resolves when every socket is connected (and subscribed) or has failed. */
  async open(plan: PoolPlan, timeoutMs: number): Promise<PoolOpened> {
    const { threads, sockets, ...common } = plan;
    const shares = Array.from({ length: threads }, (_, t) => sockets.filter((_, i) => i % threads === t));
    const readies = shares.map((share) => {
      const worker = new Worker(new URL('./bootstrap.mjs', import.meta.url), {
        workerData: { ...common, sockets: share } satisfies WorkerPlan,
      });
      this.workers.push(worker);
      return this.next<WorkerReady>(worker, 'ready', timeoutMs);
    });
    const results = await Promise.all(readies);
    return {
      connected: sum(results, (r) => r.connected),
      failed: sum(results, (r) => r.failed),
      timedOut: sum(results, (r) => r.timedOut),
      notAttempted: sum(results, (r) => r.notAttempted),
      firstError: results.find((r) => r.firstError)?.firstError,
      ack: summary(merged(results.map((r) => r.ack))),
    };
  }

  /**
   * `open` with the benches' usual settings (50 handshakes at a time, 15 s each, two threads, JSON): a socket
   * per entry of `sockets` (its symbols), over `urls` (http: or ws:); throws if any socket did not open.
   */
  async openAll(
    urls: string[],
    sockets: string[][],
    options: { protocol?: PoolPlan['protocol']; hz: number; threads?: number },
  ): Promise<PoolOpened> {
    const opened = await this.open(
      {
        urls: urls.map((url) => url.replace(/^http/, 'ws')),
        protocol: options.protocol ?? 'socketio',
        parser: 'json',
        sockets,
        hz: options.hz,
        connectConcurrency: 50,
        handshakeTimeoutMs: 15_000,
        openDeadlineMs: 120_000,
        threads: options.threads ?? 2,
      },
      150_000,
    );
    if (opened.failed) throw new Error(`${opened.failed} sockets failed to open: ${opened.firstError}`);
    return opened;
  }

  /** Opens one probe socket per entry of `subscriptions`, evenly spaced over `spanMs`, over the threads. */
  probe(subscriptions: string[][], spanMs: number): void {
    const gap = subscriptions.length ? spanMs / subscriptions.length : 0;
    this.workers.forEach((worker, t) => {
      const probes: Probe[] = subscriptions
        .map((symbols, i) => ({ symbols, atMs: Math.round(i * gap) }))
        .filter((_, i) => i % this.workers.length === t);
      worker.postMessage({ type: 'probe', probes });
    });
  }

  reset(): void {
    for (const worker of this.workers) worker.postMessage({ type: 'reset' });
  }

  async report(): Promise<PoolReport> {
    const reports = await Promise.all(
      this.workers.map((worker) => {
        const reply = this.next<WorkerReport>(worker, 'report', 30_000);
        worker.postMessage({ type: 'report' });
        return reply;
      }),
    );
    return {
      received: sum(reports, (r) => r.received),
      late: sum(reports, (r) => r.late),
      frames: sum(reports, (r) => r.frames),
      tickBytes: sum(reports, (r) => r.tickBytes),
      subscribedSocketSeconds: sum(reports, (r) => r.subscribedSocketSeconds),
      age: percentiles(merged(reports.map((r) => r.age))),
      lag: percentiles(merged(reports.map((r) => r.lag))),
      probes: {
        ack: summary(merged(reports.map((r) => r.probeAck))),
        admission: summary(merged(reports.map((r) => r.probeAdmission))),
        admitted: sum(reports, (r) => r.probes.admitted),
        failed: sum(reports, (r) => r.probes.failed),
        pending: sum(reports, (r) => r.probes.pending),
        firstError: reports.find((r) => r.probes.firstError)?.probes.firstError,
      },
      maxElu: Math.max(...reports.map((r) => r.elu)),
      maxLoopDelayP99Ms: Math.max(...reports.map((r) => r.loopDelayP99Ms)),
      open: sum(reports, (r) => r.open),
    };
  }

  async close(): Promise<void> {
    await Promise.all(
      this.workers.map(async (worker) => {
        const closed = this.next(worker, 'closed', 10_000).catch(() => undefined);
        worker.postMessage({ type: 'close' });
        await closed;
        await worker.terminate();
      }),
    );
    this.workers.length = 0;
  }

  /** The worker's next message of `type` (the type parameter names which member of WorkerMessage that is). */
  private next<M extends WorkerMessage>(worker: Worker, type: M['type'], timeoutMs: number): Promise<M> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        worker.off('message', onMessage);
        reject(new Error(`load generator thread: no "${type}" within ${timeoutMs} ms`));
      }, timeoutMs);
      const onMessage = (message: WorkerMessage) => {
        if (!isOfType<M>(message, type)) return;
        clearTimeout(timer);
        worker.off('message', onMessage);
        resolve(message);
      };
      worker.on('message', onMessage);
      worker.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }
}

function isOfType<M extends WorkerMessage>(message: WorkerMessage, type: M['type']): message is M {
  return message.type === type;
}
