import { Worker } from 'node:worker_threads';
import * as hdr from 'hdr-histogram-js';
import type { WorkerMessage, WorkerPlan, WorkerReport } from './worker.js';

export type PoolPlan = Omit<WorkerPlan, 'sockets'> & { sockets: string[][]; threads: number };

export type Percentiles = { p50: number; p99: number; p999: number; max: number };

export type PoolReport = {
  received: number;
  late: number;
  frames: number;
  age: Percentiles;
  lag: Percentiles;
  /** The busiest generator thread's event-loop utilisation over the window (0..1). */
  maxElu: number;
  maxLoopDelayP99Ms: number;
  open: number;
};

/** The load generator: its sockets spread over worker threads, driven in lock step by the harness. */
export class LoadPool {
  private readonly workers: Worker[] = [];

  /** Starts the threads and resolves when every socket is connected (and subscribed) or has failed. */
  async open(plan: PoolPlan, timeoutMs: number): Promise<{ connected: number; failed: number; firstError?: string }> {
    const { threads, sockets, ...common } = plan;
    const shares = Array.from({ length: threads }, (_, t) => sockets.filter((_, i) => i % threads === t));
    const readies = shares.map((share) => {
      const worker = new Worker(new URL('./bootstrap.mjs', import.meta.url), {
        workerData: { ...common, sockets: share } satisfies WorkerPlan,
      });
      this.workers.push(worker);
      return this.next(worker, 'ready', timeoutMs);
    });
    const results = await Promise.all(readies);
    return results.reduce<{ connected: number; failed: number; firstError?: string }>(
      (sum, r) =>
        r.type === 'ready'
          ? {
              connected: sum.connected + r.connected,
              failed: sum.failed + r.failed,
              firstError: sum.firstError ?? r.firstError,
            }
          : sum,
      { connected: 0, failed: 0 },
    );
  }

  reset(): void {
    for (const worker of this.workers) worker.postMessage({ type: 'reset' });
  }

  async report(): Promise<PoolReport> {
    const reports = (await Promise.all(
      this.workers.map((worker) => {
        const reply = this.next(worker, 'report', 30_000);
        worker.postMessage({ type: 'report' });
        return reply;
      }),
    )) as WorkerReport[];
    const age = hdr.build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: 600_000,
      numberOfSignificantValueDigits: 3,
    });
    const lag = hdr.build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: 600_000,
      numberOfSignificantValueDigits: 3,
    });
    for (const r of reports) {
      age.add(hdr.decodeFromCompressedBase64(r.age));
      lag.add(hdr.decodeFromCompressedBase64(r.lag));
    }
    const percentiles = (h: hdr.Histogram): Percentiles => ({
      p50: h.getValueAtPercentile(50),
      p99: h.getValueAtPercentile(99),
      p999: h.getValueAtPercentile(99.9),
      max: h.maxValue,
    });
    return {
      received: reports.reduce((s, r) => s + r.received, 0),
      late: reports.reduce((s, r) => s + r.late, 0),
      frames: reports.reduce((s, r) => s + r.frames, 0),
      age: percentiles(age),
      lag: percentiles(lag),
      maxElu: Math.max(...reports.map((r) => r.elu)),
      maxLoopDelayP99Ms: Math.max(...reports.map((r) => r.loopDelayP99Ms)),
      open: reports.reduce((s, r) => s + r.open, 0),
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

  private next(worker: Worker, type: WorkerMessage['type'], timeoutMs: number): Promise<WorkerMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        worker.off('message', onMessage);
        reject(new Error(`load generator thread: no "${type}" within ${timeoutMs} ms`));
      }, timeoutMs);
      const onMessage = (message: WorkerMessage) => {
        if (message.type !== type) return;
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
