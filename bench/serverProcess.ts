import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { SERVER_NODE_FLAGS } from '../src/cli/nodeFlags.js';

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(BENCH_DIR, '..');

export type ServerKind = 'tickstream' | 'naive' | 'raw';

export type Workload = {
  symbols: number;
  ticksPerSecond: number;
  /** The simulator's step (ms): every server gets its ticks in a burst this often. */
  stepMs: number;
  hz: number;
  seed: number;
  parser: 'json' | 'msgpack';
  /** tickstream's pipeline.lanes. */
  lanes: number;
  /** tickstream's pipeline.promptAfterMs. */
  promptAfterMs: number;
};

/** The benchmarks' usual load: 500 symbols, 10,000 ticks/s in 5 ms steps, watched at 4 Hz (bench:heap, bench:soak). */
export const DEFAULT_WORKLOAD: Workload = {
  symbols: 500,
  ticksPerSecond: 10_000,
  stepMs: 5,
  hz: 4,
  seed: 42,
  parser: 'json',
  lanes: 4,
  promptAfterMs: 1000,
};

export type ProcSample = { at: number; cpuMs: number; rssBytes: number };

const CLOCK_TICKS_PER_SECOND = 100; // Linux USER_HZ

/** CPU time (user + system) and RSS of a process, from /proc: no cooperation from the server needed. */
export function sampleProc(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const rssPages = Number(fields[21]);
  return { at: Date.now(), cpuMs: ((utime + stime) * 1000) / CLOCK_TICKS_PER_SECOND, rssBytes: rssPages * 4096 };
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** tickstream's bench config: the simulated feed at the workload's rate, websocket only, no dashboard. */
export function tickstreamConfig(workload: Workload) {
  return {
    server: {
      host: '127.0.0.1',
      transports: ['websocket'],
      dashboard: false,
      parser: workload.parser,
    },
    feeds: [
      {
        type: 'simulated',
        id: 'sim',
        seed: workload.seed,
        ticksPerSecond: workload.ticksPerSecond,
        intervalMs: workload.stepMs,
        symbols: workload.symbols,
        offHoursFactor: 1,
      },
    ],
    pipeline: {
      tiers: [1, 2, 4, 10, 20],
      defaultHz: workload.hz,
      lanes: workload.lanes,
      promptAfterMs: workload.promptAfterMs,
    },
    limits: { maxConnectionsPerIp: 1_000_000, requestsPerSecond: 1000, requestBurst: 1000 },
    log: { level: 'warn' },
  };
}

/** A series of a Prometheus text page (`/metrics`), summed over its label sets; 0 when it is absent. */
export function seriesSum(text: string, name: string): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`))
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/** An answer of the V8 inspector's protocol. */
type Reply = { id?: number; result?: { usedSize?: number }; error?: { message: string } };

/** A server under test in its own process. */
export class ServerProcess {
  private constructor(
    readonly kind: ServerKind,
    readonly url: string,
    private readonly child: ChildProcess,
    private readonly stderr: string[],
  ) {}

  /**
   * @param options.inspect Opens the V8 inspector on a loopback port, so the harness can run a full garbage
   *   collection (`collectGarbage`) before it reads RSS. Only the idle-socket measurement uses it.
   * @param options.role tickstream's role (default `serve`); `ingest` and `gateway` take their cluster
   *   settings from `options.args` (`--set cluster.redis=...`).
   */
  static async start(
    kind: ServerKind,
    workload: Workload,
    resultsDir: string,
    options: { inspect?: boolean; role?: 'serve' | 'ingest' | 'gateway'; args?: string[] } = {},
  ): Promise<ServerProcess> {
    const port = await freePort();
    const stderr: string[] = [];
    let command: string[];
    if (kind === 'tickstream') {
      const configFile = resolve(
        resultsDir,
        `tickstream-${workload.parser}-${workload.lanes}-${workload.promptAfterMs}.config.json`,
      );
      mkdirSync(dirname(configFile), { recursive: true });
      writeFileSync(configFile, `${JSON.stringify(tickstreamConfig(workload), null, 2)}\n`);
      command = [
        resolve(ROOT, 'bin/tickstream.js'),
        options.role ?? 'serve',
        '--config',
        configFile,
        '--port',
        String(port),
        ...(options.args ?? []),
      ];
    } else {
      const script = resolve(BENCH_DIR, kind === 'naive' ? 'servers/naive.ts' : 'servers/rawWs.ts');
      command = ['--import', 'tsx', script, '--port', String(port), ...workloadFlags(workload)];
    }
    // Every server (tickstream, naive, raw) runs with tickstream's production V8 flags, so the comparison is
    // between servers, not runtimes. BENCH_SERVER_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") adds more.
    const nodeArgs = process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
    if (options.inspect) nodeArgs.push('--inspect=127.0.0.1:0');
    const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, ...nodeArgs, ...command], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr.push(String(chunk));
      // Matched against everything so far: a chunk may end in the middle of the line.
      server.inspectorUrl ??= /Debugger listening on (ws:\/\/[\d.]+:\d+\/[0-9a-f-]{36})/.exec(stderr.join(''))?.[1];
      if (stderr.length > 50) stderr.shift();
    });
    child.stdout?.resume();
    // A server that dies mid-run (the naive one runs out of heap when it cannot keep up) must end its
    // measurement with the reason, not leave the harness waiting on sockets that are gone.
    child.once('exit', (code, signal) => {
      if (server.stopping) return;
      const oom = stderr.join('').includes('heap out of memory') ? 'JavaScript heap out of memory' : '';
      server.crash(new Error(`${kind} server died (code ${code}, signal ${signal}) ${oom}`.trim()));
    });
    const url = `http://127.0.0.1:${port}`;
    const server = new ServerProcess(kind, url, child, stderr);
    // Handled here so a crash nobody races against is not an unhandled rejection; races still see it.
    server.crashed.catch(() => undefined);
    await server.waitReady(30_000);
    return server;
  }

  /** The inspector's WebSocket URL, from its `Debugger listening on ws://...` line (with `inspect`). */
  private inspectorUrl?: string;

  /**
   * A full, memory-reducing garbage collection in the server (the inspector's `HeapProfiler.collectGarbage`),
   * so that RSS read afterwards is what the process keeps alive, not garbage nor young-generation room that
   * a burst made V8 grow. Returns the JavaScript heap in use after it (`Runtime.getHeapUsage`).
   */
  async collectGarbage(): Promise<{ usedHeapBytes: number }> {
    return this.inspect(30_000, async (call) => {
      await call('HeapProfiler.collectGarbage');
      const usage = await call('Runtime.getHeapUsage');
      return { usedHeapBytes: usage.usedSize ?? Number.NaN };
    });
  }

  /** A heap snapshot of the server (the inspector's `HeapProfiler.takeHeapSnapshot`, after a full GC), as JSON text. */
  async heapSnapshot(): Promise<string> {
    return this.inspect(180_000, async (call, chunks) => {
      await call('HeapProfiler.collectGarbage');
      await call('HeapProfiler.takeHeapSnapshot');
      return chunks.join('');
    });
  }

  /**
   * One inspector session: `run` calls methods and reads the snapshot chunks sent meanwhile. Every wait ends:
   * on a reply, on the inspector closing, on the server dying, or after `timeoutMs`.
   */
  private async inspect<T>(
    timeoutMs: number,
    run: (call: (method: string) => Promise<{ usedSize?: number }>, chunks: string[]) => Promise<T>,
  ): Promise<T> {
    const url = this.inspectorUrl;
    if (!url) throw new Error(`${this.kind} server has no inspector (start it with inspect: true)`);
    const inspector = new WebSocket(url, { maxPayload: 2 ** 30 });
    const replies = new Map<number, (reply: Reply) => void>();
    const chunks: string[] = [];
    let nextId = 0;
    let fail: (err: Error) => void = () => {};
    const broken = new Promise<never>((_, reject) => {
      fail = reject;
    });
    broken.catch(() => undefined);
    const timer = setTimeout(
      () => fail(new Error(`${this.kind}: the inspector did not answer in ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
    inspector.once('error', (err) => fail(err));
    inspector.once('close', () => fail(new Error(`${this.kind}: the inspector closed`)));
    inspector.on('message', (data) => {
      const reply = JSON.parse(String(data)) as Reply & { method?: string; params?: { chunk?: string } };
      if (reply.method === 'HeapProfiler.addHeapSnapshotChunk' && reply.params?.chunk) chunks.push(reply.params.chunk);
      if (reply.id !== undefined) replies.get(reply.id)?.(reply);
    });
    const call = (method: string) =>
      Promise.race([
        broken,
        this.crashed,
        new Promise<{ usedSize?: number }>((done, reject) => {
          const id = ++nextId;
          replies.set(id, (reply) =>
            reply.error ? reject(new Error(`${method}: ${reply.error.message}`)) : done(reply.result ?? {}),
          );
          inspector.send(JSON.stringify({ id, method }));
        }),
      ]);
    try {
      await Promise.race([broken, this.crashed, new Promise((open) => inspector.once('open', open))]);
      return await run(call, chunks);
    } finally {
      clearTimeout(timer);
      inspector.removeAllListeners('close');
      inspector.close();
    }
  }

  get pid(): number {
    return this.child.pid as number;
  }

  sample(): ProcSample {
    return sampleProc(this.pid);
  }

  /**
   * Updates the server reports having written to client sockets (after fan-out), and for tickstream the
   * actions its slow-consumer policy took (a throttled socket gets fewer updates: the run must say so).
   */
  async counters(): Promise<{ sent: number; slowConsumerActions: number }> {
    // A saturated server may not answer at all: its counts are then unknown (NaN), not a reason to hang.
    const get = (path: string) => fetch(`${this.url}${path}`, { signal: AbortSignal.timeout(5000) });
    try {
      if (this.kind === 'tickstream') {
        const text = await (await get('/metrics')).text();
        return {
          sent: seriesSum(text, 'tickstream_deliveries_out_total'),
          slowConsumerActions: seriesSum(text, 'tickstream_slow_consumer_actions_total'),
        };
      }
      const stats = (await (await get('/bench/stats')).json()) as { sent: number };
      return { sent: stats.sent, slowConsumerActions: 0 };
    } catch {
      return { sent: Number.NaN, slowConsumerActions: 0 };
    }
  }

  /** Set once the harness stops the server, so an exit before that is reported as a crash. */
  stopping = false;
  private crash: (err: Error) => void = () => {};
  /** Rejects if the server process dies before the harness stops it; race every wait against it. */
  readonly crashed = new Promise<never>((_, reject) => {
    this.crash = reject;
  });

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((done) => this.child.once('exit', () => done()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const path = this.kind === 'tickstream' ? '/healthz' : '/bench/stats';
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) break;
      try {
        if ((await fetch(`${this.url}${path}`)).ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await this.stop();
    throw new Error(`${this.kind} server did not start:\n${this.stderr.join('')}`);
  }
}

function workloadFlags(w: Workload): string[] {
  return [
    '--symbols',
    String(w.symbols),
    '--tps',
    String(w.ticksPerSecond),
    '--step-ms',
    String(w.stepMs),
    '--seed',
    String(w.seed),
    '--hz',
    String(w.hz),
  ];
}
