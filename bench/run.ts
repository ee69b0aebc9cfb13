import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { exitOnHelp, HELP_FLAG, parseFlags } from '../scripts/flags.js';
import { LoadPool, type PoolReport } from './loadgen/pool.js';
import { BENCH_DIR, type ServerKind, ServerProcess, type Workload } from './serverProcess.js';
import { socketSubscriptions } from './workload.js';

/**
 * `npm run bench [-- --quick]`: tickstream, a naive Socket.IO server and a raw `ws` bound, same simulator,
 * same workload, same run; each in its own process, driven by a worker-thread load generator on 127.0.0.1.
 */

const HELP = `npm run bench -- [options]
  --quick               under a minute: 1,000 sockets, short windows, no step search
  --servers LIST        tickstream,naive,raw (default all three)
  --sockets LIST        socket counts to measure (default 1000,5000)
  --symbols N           universe size (default 500)
  --tps N               upstream ticks per second (default 10000)
  --step-ms N           the simulator's step: ticks arrive in a burst every N ms (default 5)
  --per-socket N        symbols each socket watches (default 20)
  --hz N                rate each socket asks for (default 4)
  --duration S          measured seconds per run (default 15)
  --warmup S            seconds before measuring (default 3)
  --idle N              idle sockets for the RSS-per-socket figure (default 5000; 0 skips)
  --step-max N          the step search stops at this many sockets (default 15000; 0 skips)
  --step-budget S       and after this many seconds (default 240)
  --parser json|msgpack tickstream's Socket.IO parser (default json)
  --lanes N             tickstream's pipeline.lanes: clock phases a tier's sockets are spread over (default 4)
  --prompt-after-ms N   tickstream's pipeline.promptAfterMs (default 1000; 0: a quiet symbol waits for its tick)
  --threads N           load generator threads (default 2)
  --seed N              simulator and subscription seed (default 42)
  --results DIR         where the JSON goes (default bench/results)`;

const { values } = parseFlags('bench', HELP, () =>
  parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      servers: { type: 'string', default: 'tickstream,naive,raw' },
      sockets: { type: 'string' },
      symbols: { type: 'string', default: '500' },
      tps: { type: 'string', default: '10000' },
      'step-ms': { type: 'string', default: '5' },
      'per-socket': { type: 'string', default: '20' },
      hz: { type: 'string', default: '4' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      idle: { type: 'string' },
      'step-max': { type: 'string' },
      'step-budget': { type: 'string', default: '240' },
      parser: { type: 'string', default: 'json' },
      'prompt-after-ms': { type: 'string', default: '1000' },
      lanes: { type: 'string', default: '4' },
      threads: { type: 'string', default: '2' },
      seed: { type: 'string', default: '42' },
      results: { type: 'string' },
      help: HELP_FLAG,
    },
  }),
);
exitOnHelp(HELP, values);

const quick = values.quick;
const positive = (name: string, text: string): number => {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: expected a non-negative number, got "${text}"`);
  return n;
};
const list = (name: string, text: string) => text.split(',').map((t) => positive(name, t.trim()));
const parserOf = (text: string): 'json' | 'msgpack' => {
  if (text === 'json' || text === 'msgpack') return text;
  throw new Error(`--parser: expected json or msgpack, got "${text}"`);
};
const parser = parserOf(values.parser);
const servers = values.servers.split(',').map((s) => s.trim()) as ServerKind[];
for (const s of servers) if (!['tickstream', 'naive', 'raw'].includes(s)) throw new Error(`--servers: unknown "${s}"`);

const workload: Workload = {
  symbols: positive('symbols', values.symbols),
  ticksPerSecond: positive('tps', values.tps),
  // tickstream's config takes a simulator step of 1 to 1000 ms; the comparison servers get the same.
  stepMs: Math.min(1000, Math.max(1, Math.round(positive('step-ms', values['step-ms'])))),
  hz: positive('hz', values.hz),
  seed: positive('seed', values.seed),
  parser,
  promptAfterMs: positive('prompt-after-ms', values['prompt-after-ms']),
  lanes: Math.max(1, positive('lanes', values.lanes)),
};
const perSocket = positive('per-socket', values['per-socket']);
const socketCounts = list('sockets', values.sockets ?? (quick ? '1000' : '1000,5000'));
const durationS = positive('duration', values.duration ?? (quick ? '4' : '15'));
const warmupS = positive('warmup', values.warmup ?? (quick ? '1.5' : '3'));
const idleSockets = positive('idle', values.idle ?? (quick ? '1000' : '5000'));
const stepMax = positive('step-max', values['step-max'] ?? (quick ? '0' : '15000'));
const stepBudgetMs = positive('step-budget', values['step-budget']) * 1000;
const threads = Math.max(1, positive('threads', values.threads));

// Each socket is a file descriptor in the server and in the generator; both inherit our limit.
const openFilesLimit = Number(
  /Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? Number.POSITIVE_INFINITY,
);
const socketCap = openFilesLimit - 1000;

const resultsDir = resolve(values.results ?? resolve(BENCH_DIR, 'results'));
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const kb = (bytes: number) => (bytes / 1024).toFixed(1);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => process.stderr.write(`${line}\n`);

type Row = {
  server: ServerKind;
  sockets: number;
  connected: number;
  failed: number;
  /** Updates that arrived within 1 s of their `ts`; later ones are a backlog draining, not throughput. */
  deliveredPerSec: number;
  latePerSec: number;
  framesPerSec: number;
  ageMs: PoolReport['age'];
  lagMs: PoolReport['lag'];
  serverCpuPct: number;
  cpuMsPer1kUpdates: number;
  serverRssMb: number;
  receivedOverSent: number;
  generatorMaxElu: number;
  generatorLoopDelayP99Ms: number;
  /** tickstream only: sockets throttled or cut by its slow-consumer policy since it started. */
  slowConsumerActions: number;
};

/** A saturated server (the naive one) may never take every socket: measure it with those it took by then. */
const HANDSHAKE_TIMEOUT_MS = 15_000;
const OPEN_DEADLINE_MS = 90_000;

async function measure(kind: ServerKind, sockets: number, duration: number): Promise<Row> {
  log(`- ${kind}: ${sockets} sockets x ${perSocket} symbols at ${workload.hz} Hz, ${duration}s`);
  const server = await ServerProcess.start(kind, workload, resultsDir);
  const pool = new LoadPool();
  const whileAlive = <T>(work: Promise<T>): Promise<T> => Promise.race([work, server.crashed]);
  try {
    const opened = await whileAlive(
      openSockets(pool, server, socketSubscriptions(sockets, perSocket, workload.symbols, workload.seed)),
    );
    if (opened.failed) log(`  ${opened.failed} sockets failed to open: ${opened.firstError}`);
    await whileAlive(sleep(warmupS * 1000));
    pool.reset();
    const c0 = await whileAlive(server.counters());
    const s0 = server.sample();
    await whileAlive(sleep(duration * 1000));
    const s1 = server.sample();
    const c1 = await whileAlive(server.counters());
    const report = await whileAlive(pool.report());
    const seconds = (s1.at - s0.at) / 1000;
    const cpuMs = s1.cpuMs - s0.cpuMs;
    const row: Row = {
      server: kind,
      sockets,
      connected: opened.connected,
      failed: opened.failed,
      deliveredPerSec: (report.received - report.late) / seconds,
      latePerSec: report.late / seconds,
      framesPerSec: report.frames / seconds,
      ageMs: report.age,
      lagMs: report.lag,
      serverCpuPct: (cpuMs / (seconds * 1000)) * 100,
      cpuMsPer1kUpdates: report.received ? cpuMs / (report.received / 1000) : Number.NaN,
      serverRssMb: s1.rssBytes / 2 ** 20,
      receivedOverSent: report.received / (c1.sent - c0.sent),
      slowConsumerActions: c1.slowConsumerActions,
      generatorMaxElu: report.maxElu,
      generatorLoopDelayP99Ms: report.maxLoopDelayP99Ms,
    };
    log(
      `  ${fmt(row.deliveredPerSec)} updates/s${row.latePerSec ? ` (+${fmt(row.latePerSec)}/s late)` : ''}, lag p99 ${row.lagMs.p99} ms, cpu ${row.serverCpuPct.toFixed(0)}%, ` +
        `recv/sent ${row.receivedOverSent.toFixed(3)}, generator ELU ${row.generatorMaxElu.toFixed(2)}` +
        (row.slowConsumerActions ? `, ${row.slowConsumerActions} slow-consumer actions` : ''),
    );
    return row;
  } finally {
    await pool.close();
    await server.stop();
  }
}

/** Opens one generator socket per entry of `subscriptions` (its symbols; none: an idle socket) to `server`. */
function openSockets(pool: LoadPool, server: ServerProcess, subscriptions: string[][]) {
  return pool.open(
    {
      urls: [server.url.replace('http', 'ws')],
      protocol: server.kind === 'raw' ? 'raw' : 'socketio',
      parser: server.kind === 'tickstream' ? parser : 'json',
      sockets: subscriptions,
      hz: workload.hz,
      connectConcurrency: 50,
      handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
      openDeadlineMs: OPEN_DEADLINE_MS,
      threads,
    },
    OPEN_DEADLINE_MS + HANDSHAKE_TIMEOUT_MS + 10_000,
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
async function idleRss(
  kind: ServerKind,
  sockets: number,
): Promise<{
  server: ServerKind;
  sockets: number;
  bytesPerSocket: number;
  bytesPerSocketAfterGc: number;
  marginalBytesPerSocketAfterGc: number;
  /** The JavaScript heap in use after the full GC, per socket over the baseline: no page slack in it. */
  heapBytesPerSocket: number;
  baselineMb: number;
  baselineAfterGcMb: number;
}> {
  log(`- ${kind}: RSS with ${sockets} idle sockets`);
  const server = await ServerProcess.start(kind, workload, resultsDir, { inspect: true });
  const pool = new LoadPool();
  const open = (count: number) =>
    openSockets(
      pool,
      server,
      Array.from({ length: count }, () => []),
    );
  const settle = () => sleep(quick ? 1500 : 3000);
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

/**
 * Steps 1k, 2k, 5k, 10k, ... until frame lag p99 passes 100 ms, sockets fail, or time runs out; then halves
 * the gap between the last step that passed and the one that failed, down to 500 sockets, while time allows.
 */
async function stepSearch(
  kind: ServerKind,
): Promise<{ server: ServerKind; maxSocketsUnder100ms: number; steps: Row[]; stoppedBy: string }> {
  const started = Date.now();
  const steps: Row[] = [];
  let best = 0;
  let failedAt: number | undefined;
  let stoppedBy = 'step-max';
  const outOfTime = () => Date.now() - started > stepBudgetMs;
  const passes = async (sockets: number): Promise<boolean> => {
    const row = await measure(kind, sockets, Math.min(durationS, 8));
    steps.push(row);
    if (row.failed > 0 || row.lagMs.p99 > 100) {
      stoppedBy =
        row.failed > 0 ? `${row.failed} sockets failed at ${sockets}` : `p99 ${row.lagMs.p99} ms at ${sockets}`;
      failedAt = sockets;
      return false;
    }
    best = sockets;
    return true;
  };
  for (const sockets of [1000, 2000, 5000, 10_000, 15_000, 20_000, 50_000]) {
    if (sockets > stepMax) break;
    if (sockets > socketCap) {
      stoppedBy = `open files limit ${openFilesLimit}`;
      break;
    }
    if (outOfTime()) {
      stoppedBy = 'time budget';
      break;
    }
    if (!(await passes(sockets))) break;
  }
  while (failedAt !== undefined && failedAt - best > 500 && !outOfTime()) {
    const middle = Math.round((best + failedAt) / 2 / 250) * 250;
    await passes(middle);
  }
  return { server: kind, maxSocketsUnder100ms: best, steps, stoppedBy };
}

function fmt(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a';
}

function table(rows: Row[]): string {
  const header = [
    'server',
    'sockets',
    'updates/s',
    'late/s',
    'frames/s',
    'lag p50/p99/p99.9 ms',
    'age p50/p99/p99.9 ms',
    'cpu %',
    'cpu ms/1k upd',
    'recv/sent',
    'gen ELU',
  ];
  const lines = rows.map((r) => [
    r.server,
    r.connected === r.sockets ? fmt(r.sockets) : `${fmt(Math.max(0, r.connected))} of ${fmt(r.sockets)}`,
    fmt(r.deliveredPerSec),
    fmt(r.latePerSec),
    fmt(r.framesPerSec),
    `${r.lagMs.p50}/${r.lagMs.p99}/${r.lagMs.p999}`,
    `${r.ageMs.p50}/${r.ageMs.p99}/${r.ageMs.p999}`,
    r.serverCpuPct.toFixed(0),
    r.cpuMsPer1kUpdates.toFixed(2),
    r.receivedOverSent.toFixed(3),
    r.generatorMaxElu.toFixed(2),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] as string).length)));
  const row = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`;
  return [row(header), row(widths.map((w) => '-'.repeat(w))), ...lines.map(row)].join('\n');
}

async function main(): Promise<void> {
  // Undici's sockets to a server that stopped answering do not hold the event loop open: this does, so a
  // wait on such a server ends by its own timeout instead of the process quietly exiting.
  setInterval(() => {}, 1000);
  const startedAt = new Date().toISOString();
  const load0 = loadavg();
  const capped = socketCounts.filter((n) => n <= socketCap);
  if (capped.length < socketCounts.length) log(`socket counts over the open-files limit (${openFilesLimit}) skipped`);
  log(
    `bench: ${workload.symbols} symbols, ${workload.ticksPerSecond} ticks/s (a step every ${workload.stepMs} ms), parser ${parser}, lanes ${workload.lanes}, promptAfterMs ${workload.promptAfterMs}; open files limit ${openFilesLimit}`,
  );

  const rows: Row[] = [];
  for (const sockets of capped) {
    for (const kind of servers) {
      try {
        rows.push(await measure(kind, sockets, durationS));
      } catch (err) {
        log(`  ${kind} at ${sockets}: ${(err as Error).message}`);
      }
    }
  }
  const idle = [];
  if (idleSockets > 0) for (const kind of servers) idle.push(await idleRss(kind, Math.min(idleSockets, socketCap)));
  const steps = stepMax > 0 && servers.includes('tickstream') ? await stepSearch('tickstream') : undefined;

  const ratios = capped.map((sockets) => {
    const of = (kind: ServerKind) => rows.find((r) => r.server === kind && r.sockets === sockets);
    const t = of('tickstream');
    const raw = of('raw');
    const naive = of('naive');
    return {
      sockets,
      vsRaw: t && raw ? t.deliveredPerSec / raw.deliveredPerSec : undefined,
      vsNaive: t && naive ? t.deliveredPerSec / naive.deliveredPerSec : undefined,
      naiveInTime: naive?.deliveredPerSec,
      cpuPer1kVsRaw: t && raw ? t.cpuMsPer1kUpdates / raw.cpuMsPer1kUpdates : undefined,
    };
  });

  const out: string[] = [];
  out.push(
    `workload: ${workload.symbols} symbols, ${fmt(workload.ticksPerSecond)} ticks/s upstream (a step every ${workload.stepMs} ms), ${perSocket} symbols per socket at ${workload.hz} Hz, ` +
      `${durationS}s measured after ${warmupS}s warm-up; tickstream parser ${parser}, lanes ${workload.lanes}, promptAfterMs ${workload.promptAfterMs}`,
  );
  out.push('');
  out.push(table(rows));
  out.push('');
  for (const r of ratios) {
    const x = (v?: number) =>
      v === undefined
        ? 'n/a'
        : Number.isFinite(v)
          ? `${v.toFixed(2)}x`
          : 'all of it, where it delivers nothing in time to';
    // A naive server that got a handful of quotes out in time makes a ratio in the thousands: say what it is.
    const vsNaive =
      r.vsNaive !== undefined && r.naiveInTime !== undefined && r.vsNaive > 100
        ? `more than 100x (the naive server delivered ${fmt(r.naiveInTime)}/s in time)`
        : x(r.vsNaive);
    out.push(
      `${fmt(r.sockets)} sockets: tickstream delivers ${x(r.vsRaw)} the raw-ws bound, ${vsNaive} the naive server; cpu per update ${x(r.cpuPer1kVsRaw)} raw's`,
    );
  }
  for (const i of idle)
    out.push(
      `${i.server}: RSS per idle socket (${fmt(i.sockets)} sockets): ${kb(i.bytesPerSocketAfterGc)} KB after a full GC (over a ${i.baselineAfterGcMb.toFixed(0)} MB baseline), ${kb(i.marginalBytesPerSocketAfterGc)} KB marginal (the second ${fmt(i.sockets - Math.floor(i.sockets / 2))} over the first), JS heap ${kb(i.heapBytesPerSocket)} KB; ${kb(i.bytesPerSocket)} KB as read (end minus start, each read before that point's forced GC; one ran halfway) over ${i.baselineMb.toFixed(0)} MB`,
    );
  if (steps)
    out.push(
      `tickstream: largest step with frame lag p99 <= 100 ms: ${fmt(steps.maxSocketsUnder100ms)} sockets (stopped: ${steps.stoppedBy})`,
    );
  out.push('');
  out.push(
    'lag = receive time minus the newest quote `ts` in the frame (delivery delay, plus how old the newest tick was',
  );
  out.push(
    "when the frame fell due); age = receive time minus each quote's `ts` (includes the conflation wait, up to 1/hz",
  );
  out.push('by design; the naive server does not conflate).');
  const text = out.join('\n');
  console.log(`\n${text}`);

  mkdirSync(resultsDir, { recursive: true });
  const file = resolve(resultsDir, `${stamp}.json`);
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        startedAt,
        finishedAt: new Date().toISOString(),
        machine: {
          cpus: cpus().length,
          model: cpus()[0]?.model,
          node: process.version,
          loadavgBefore: load0,
          loadavgAfter: loadavg(),
          openFilesLimit,
        },
        workload: { ...workload, perSocket, socketCounts: capped, durationS, warmupS, threads, quick },
        rows,
        ratios,
        idle,
        steps,
        table: text,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`\nresults: ${file}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
