/**
 * `npm run bench:cluster`: the same clients against one all-in-one process (`serve`) and against one ingest
 * and N gateways on Redis, side by side in one run, at each client count. Each server is its own process;
 * the load generator (worker threads of raw WebSocket clients speaking Socket.IO by hand, bench/loadgen) runs
 * in this one. Reports delivered updates against demand, frames per client per second, CPU per delivered
 * update (the servers', and with Redis's), Redis commands per second and lag, and writes
 * bench/results/cluster-<timestamp>.json. Every wait has a deadline, a crash ends its row with the reason,
 * and Redis keys are removed whatever happens (Ctrl-C included).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createClient } from 'redis';
import { LoadPool, type PoolReport } from './loadgen/pool.js';
import { median } from './median.js';
import { BENCH_DIR, type ProcSample, ServerProcess, type Workload } from './serverProcess.js';
import { socketSubscriptions } from './workload.js';

const HELP = `npm run bench:cluster -- [options]

The same clients against tickstream serve (one process) and against 1 ingest + N gateways on Redis.

Options:
  --clients LIST     client counts, comma-separated (default 3000,6000; --quick: 300)
  --per-socket N     symbols each client watches (default 20)
  --hz N             the rate each client asks for (default 4)
  --symbols N        simulated symbols (default 500)
  --tps N            simulated ticks per second (default 10000)
  --step-ms N        the simulator's step (default 5)
  --gateways N       gateways in the cluster mode (default 2)
  --modes LIST       serve,cluster (default both, in that order at each client count)
  --rounds N         measure the modes N times at each client count, alternating (serve, cluster, serve, ...),
                     and give each round's ratio and their median: on a shared machine one pair of runs
                     moves by 20% or more (default 1)
  --seconds N        measured seconds per row (default 15; --quick: 5)
  --warmup N         seconds between the last client subscribed and the measurement (default 10, for the cluster to settle; --quick: 2)
  --threads N        load generator threads (default 2)
  --redis URL[,URL]  one Redis, or the nodes of a Redis Cluster (default redis://127.0.0.1:6379)
  --deadline N       the whole run ends by then, in seconds, with what it measured (default 1200 per round)
  --results DIR      where the JSON goes (default bench/results)
  --quick            a short run: 300 clients, 5 s
  -h, --help         this text

Every server runs with the same V8 flags (src/cli/nodeFlags.ts). CPU is read from /proc for the server
processes and from INFO for Redis; "demand" is clients x symbols x hz.`;

function parse() {
  try {
    return parseArgs({
      options: {
        clients: { type: 'string' },
        'per-socket': { type: 'string', default: '20' },
        hz: { type: 'string', default: '4' },
        symbols: { type: 'string', default: '500' },
        tps: { type: 'string', default: '10000' },
        'step-ms': { type: 'string', default: '5' },
        gateways: { type: 'string', default: '2' },
        modes: { type: 'string', default: 'serve,cluster' },
        seconds: { type: 'string' },
        warmup: { type: 'string' },
        threads: { type: 'string', default: '2' },
        redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
        rounds: { type: 'string', default: '1' },
        deadline: { type: 'string' },
        results: { type: 'string' },
        quick: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    console.error(`bench:cluster: ${(err as Error).message}\n\n${HELP}`);
    process.exit(2);
  }
}
const values = parse();
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
const positive = (name: string, text: string): number => {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`bench:cluster: --${name}: expected a positive number, got "${text}"`);
    process.exit(2);
  }
  return n;
};
type Mode = 'serve' | 'cluster';
const modes = values.modes.split(',').map((m) => m.trim());
for (const m of modes) {
  if (m !== 'serve' && m !== 'cluster') {
    console.error(`bench:cluster: --modes: unknown "${m}" (serve, cluster)`);
    process.exit(2);
  }
}
const clientCounts = (values.clients ?? (values.quick ? '300' : '3000,6000'))
  .split(',')
  .map((c) => positive('clients', c));
const perSocket = positive('per-socket', values['per-socket']);
const seconds = positive('seconds', values.seconds ?? (values.quick ? '5' : '15'));
const warmupS = positive('warmup', values.warmup ?? (values.quick ? '2' : '10'));
const gatewayCount = positive('gateways', values.gateways);
const rounds = Math.floor(positive('rounds', values.rounds));
const threads = positive('threads', values.threads);
const redisNodes = values.redis.split(',').map((url) => url.trim());
const workload: Workload = {
  symbols: positive('symbols', values.symbols),
  ticksPerSecond: positive('tps', values.tps),
  stepMs: positive('step-ms', values['step-ms']),
  hz: positive('hz', values.hz),
  seed: 42,
  parser: 'json',
  lanes: 4,
  promptAfterMs: 1000,
};
const resultsDir = resolve(values.results ?? resolve(BENCH_DIR, 'results'));
const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What is running now, so that a deadline, a signal or a crash can stop it and clean Redis up. */
const live = { servers: new Set<ServerProcess>(), pools: new Set<LoadPool>(), prefixes: new Set<string>() };

async function redisClients() {
  return Promise.all(
    redisNodes.map(async (url) => {
      const client = createClient({ url, socket: { connectTimeout: 2000, reconnectStrategy: false } });
      client.on('error', () => {});
      await client.connect();
      return client;
    }),
  );
}

/** Commands processed and CPU seconds used, summed over the Redis nodes. */
async function redisStats(): Promise<{ commands: number; cpuS: number }> {
  const clients = await redisClients();
  try {
    let commands = 0;
    let cpuS = 0;
    for (const client of clients) {
      const info = await client.info();
      const field = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
      commands += field('total_commands_processed');
      cpuS += field('used_cpu_sys') + field('used_cpu_user');
    }
    return { commands, cpuS };
  } finally {
    for (const client of clients) client.destroy();
  }
}

async function dropPrefix(prefix: string): Promise<void> {
  const clients = await redisClients().catch(() => []);
  for (const client of clients) {
    const keys: string[] = [];
    for await (const batch of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) keys.push(...batch);
    for (const key of keys) await client.del(key).catch(() => 0);
    client.destroy();
  }
  live.prefixes.delete(prefix);
}

async function cleanUp(): Promise<void> {
  await Promise.all([...live.pools].map((pool) => pool.close().catch(() => undefined)));
  await Promise.all([...live.servers].map((server) => server.stop().catch(() => undefined)));
  for (const prefix of [...live.prefixes]) await dropPrefix(prefix).catch(() => undefined);
}

type Row = {
  mode: Mode;
  clients: number;
  /** Which round of --rounds (1-based). */
  round: number;
  connected: number;
  error?: string;
  demandPerSec?: number;
  deliveredPerSec?: number;
  deliveredOfDemand?: number;
  latePerSec?: number;
  framesPerClientPerSec?: number;
  lagMs?: PoolReport['lag'];
  /** CPU of each server process over the window, % of one core. */
  cpuPct?: Record<string, number>;
  serverCpuMsPer1kUpdates?: number;
  redisCpuPct?: number;
  totalCpuMsPer1kUpdates?: number;
  redisCommandsPerSec?: number;
  generatorMaxElu?: number;
};

async function startServers(
  mode: Mode,
  prefix: string,
): Promise<{ servers: Map<string, ServerProcess>; urls: string[] }> {
  const servers = new Map<string, ServerProcess>();
  const add = async (name: string, start: Promise<ServerProcess>) => {
    const server = await start;
    live.servers.add(server);
    servers.set(name, server);
    return server;
  };
  if (mode === 'serve') {
    const serve = await add('serve', ServerProcess.start('tickstream', workload, resultsDir));
    return { servers, urls: [serve.url] };
  }
  const redis = redisNodes.length === 1 ? (redisNodes[0] as string) : JSON.stringify(redisNodes);
  const args = ['--set', `cluster.redis=${redis}`, '--set', `cluster.keyPrefix=${prefix}`];
  await add('ingest', ServerProcess.start('tickstream', workload, resultsDir, { role: 'ingest', args }));
  const gateways: ServerProcess[] = [];
  for (let i = 0; i < gatewayCount; i++) {
    gateways.push(
      await add(`gateway${i + 1}`, ServerProcess.start('tickstream', workload, resultsDir, { role: 'gateway', args })),
    );
  }
  // Ready means Redis up, the symbols known and the ingest's feed live (docs/CLUSTER.md).
  const deadline = Date.now() + 30_000;
  for (const gateway of gateways) {
    while (
      !(await fetch(`${gateway.url}/readyz`).then(
        (r) => r.ok,
        () => false,
      ))
    ) {
      if (Date.now() > deadline) throw new Error(`${gateway.url} not ready within 30 s`);
      await sleep(100);
    }
  }
  return { servers, urls: gateways.map((g) => g.url) };
}

async function measure(mode: Mode, clients: number, round: number): Promise<Row> {
  log(
    `- ${rounds > 1 ? `round ${round}: ` : ''}${mode}${mode === 'cluster' ? ` (1 ingest + ${gatewayCount} gateways)` : ''}: ${clients} clients x ${perSocket} symbols at ${workload.hz} Hz`,
  );
  const prefix = `tsbench:${randomUUID().slice(0, 8)}:`;
  if (mode === 'cluster') live.prefixes.add(prefix);
  const pool = new LoadPool();
  live.pools.add(pool);
  let servers = new Map<string, ServerProcess>();
  try {
    const started = await startServers(mode, prefix);
    servers = started.servers;
    const crashed = Promise.race([...servers.values()].map((s) => s.crashed));
    const whileAlive = <T>(work: Promise<T>): Promise<T> => Promise.race([work, crashed]);
    const opened = await whileAlive(
      pool.open(
        {
          urls: started.urls.map((url) => url.replace('http', 'ws')),
          protocol: 'socketio',
          parser: 'json',
          sockets: socketSubscriptions(clients, perSocket, workload.symbols, workload.seed),
          hz: workload.hz,
          connectConcurrency: 50,
          handshakeTimeoutMs: 15_000,
          openDeadlineMs: 120_000,
          threads,
        },
        150_000,
      ),
    );
    if (opened.failed) log(`  ${opened.failed} clients failed to open: ${opened.firstError}`);
    await whileAlive(sleep(warmupS * 1000));
    pool.reset();
    const before = {
      procs: sampleAll(servers),
      redis: mode === 'cluster' ? await redisStats() : undefined,
      at: Date.now(),
    };
    await whileAlive(sleep(seconds * 1000));
    const after = {
      procs: sampleAll(servers),
      redis: mode === 'cluster' ? await redisStats() : undefined,
      at: Date.now(),
    };
    const report = await whileAlive(pool.report());
    const windowS = (after.at - before.at) / 1000;
    const cpuPct: Record<string, number> = {};
    let serverCpuMs = 0;
    for (const [name, sample] of after.procs) {
      const cpuMs = sample.cpuMs - (before.procs.get(name)?.cpuMs ?? 0);
      serverCpuMs += cpuMs;
      cpuPct[name] = (cpuMs / (windowS * 1000)) * 100;
    }
    const redisCpuMs = before.redis && after.redis ? (after.redis.cpuS - before.redis.cpuS) * 1000 : 0;
    const delivered = report.received - report.late;
    const demand = opened.connected * perSocket * workload.hz;
    const row: Row = {
      mode,
      clients,
      round,
      connected: opened.connected,
      demandPerSec: demand,
      deliveredPerSec: delivered / windowS,
      deliveredOfDemand: delivered / windowS / demand,
      latePerSec: report.late / windowS,
      framesPerClientPerSec: report.frames / windowS / Math.max(1, opened.connected),
      lagMs: report.lag,
      cpuPct,
      serverCpuMsPer1kUpdates: serverCpuMs / (report.received / 1000),
      redisCpuPct: (redisCpuMs / (windowS * 1000)) * 100,
      totalCpuMsPer1kUpdates: (serverCpuMs + redisCpuMs) / (report.received / 1000),
      redisCommandsPerSec: before.redis && after.redis ? (after.redis.commands - before.redis.commands) / windowS : 0,
      generatorMaxElu: report.maxElu,
    };
    log(
      `  ${fmt(row.deliveredPerSec)} updates/s (${pct(row.deliveredOfDemand)} of demand), ` +
        `${row.framesPerClientPerSec?.toFixed(2)} frames/client/s, lag p99 ${row.lagMs?.p99} ms, CPU ${Object.entries(
          cpuPct,
        )
          .map(([n, p]) => `${n} ${p.toFixed(0)}%`)
          .join(
            ' ',
          )}${mode === 'cluster' ? `, redis ${row.redisCpuPct?.toFixed(0)}% ${fmt(row.redisCommandsPerSec)} cmd/s` : ''}`,
    );
    return row;
  } catch (err) {
    const error = (err as Error).message;
    log(`  failed: ${error}`);
    return { mode, clients, round, connected: 0, error };
  } finally {
    await pool.close().catch(() => undefined);
    live.pools.delete(pool);
    for (const server of servers.values()) {
      await server.stop();
      live.servers.delete(server);
    }
    if (mode === 'cluster') await dropPrefix(prefix);
  }
}

function sampleAll(servers: Map<string, ServerProcess>): Map<string, ProcSample> {
  return new Map([...servers].map(([name, server]) => [name, server.sample()]));
}

const fmt = (n: number | undefined) => (n === undefined ? '-' : Math.round(n).toLocaleString('en-US'));
const pct = (n: number | undefined) => (n === undefined ? '-' : `${(n * 100).toFixed(1)}%`);

/** The cluster's figures against serve's in the same round at the same client count. */
type Ratio = { round: number; cpu: number; cpuWithRedis: number; delivered: number };

function ratios(rows: Row[], clients: number): Ratio[] {
  const out: Ratio[] = [];
  for (let round = 1; round <= rounds; round++) {
    const at = (mode: Mode) =>
      rows.find((r) => r.mode === mode && r.clients === clients && r.round === round && !r.error);
    const serve = at('serve');
    const cluster = at('cluster');
    if (!serve?.serverCpuMsPer1kUpdates || !cluster?.serverCpuMsPer1kUpdates || !cluster.totalCpuMsPer1kUpdates)
      continue;
    out.push({
      round,
      cpu: cluster.serverCpuMsPer1kUpdates / serve.serverCpuMsPer1kUpdates,
      cpuWithRedis: cluster.totalCpuMsPer1kUpdates / serve.serverCpuMsPer1kUpdates,
      delivered: (cluster.deliveredPerSec ?? 0) / (serve.deliveredPerSec ?? 1),
    });
  }
  return out;
}

function table(rows: Row[]): string {
  const lines = [
    '| round | mode | clients | delivered/s | of demand | frames/client/s | lag p99 | server CPU | CPU ms/1k upd | +Redis | Redis cmd/s |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    if (r.error) {
      lines.push(`| ${r.round} | ${r.mode} | ${r.clients} | failed: ${r.error} | | | | | | | |`);
      continue;
    }
    const cpu = Object.entries(r.cpuPct ?? {})
      .map(([n, p]) => `${n} ${p.toFixed(0)}%`)
      .join(', ');
    lines.push(
      `| ${r.round} | ${r.mode} | ${fmt(r.connected)} | ${fmt(r.deliveredPerSec)} | ${pct(r.deliveredOfDemand)} | ${r.framesPerClientPerSec?.toFixed(2)} | ${r.lagMs?.p99} ms | ${cpu} | ${r.serverCpuMsPer1kUpdates?.toFixed(2)} | ${r.mode === 'cluster' ? r.totalCpuMsPer1kUpdates?.toFixed(2) : '-'} | ${r.mode === 'cluster' ? fmt(r.redisCommandsPerSec) : '-'} |`,
    );
  }
  // Side by side: the cluster's CPU per update against serve's at the same client count, round by round.
  for (const clients of clientCounts) {
    const each = ratios(rows, clients);
    if (each.length === 0) continue;
    const x = (n: number) => `${n.toFixed(2)}x`;
    const byRound =
      each.length > 1
        ? `; medians of ${each.length} rounds, with Redis ${each.map((r) => x(r.cpuWithRedis)).join(', ')}`
        : '';
    lines.push(
      '',
      `${clients} clients: cluster CPU per delivered update ${x(median(each.map((r) => r.cpu)))} serve's (` +
        `${x(median(each.map((r) => r.cpuWithRedis)))} with Redis${byRound}); delivered ${median(each.map((r) => r.delivered)).toFixed(3)}x serve's`,
    );
  }
  return lines.join('\n');
}

const deadlineMs = positive('deadline', values.deadline ?? String(1200 * rounds)) * 1000;
const rows: Row[] = [];
let finished = false;
async function finish(reason?: string): Promise<never> {
  if (finished) process.exit(1);
  finished = true;
  await cleanUp();
  if (reason) log(`bench:cluster: ${reason}`);
  console.log(table(rows));
  mkdirSync(resultsDir, { recursive: true });
  const file = resolve(resultsDir, `cluster-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        workload,
        perSocket,
        gateways: gatewayCount,
        seconds,
        rounds,
        reason,
        rows,
        ratios: Object.fromEntries(clientCounts.map((c) => [c, ratios(rows, c)])),
      },
      null,
      2,
    )}\n`,
  );
  log(`results: ${file}`);
  process.exit(reason ? 1 : 0);
}
setTimeout(
  () => void finish(`deadline of ${deadlineMs / 1000} s reached: what was measured by then follows`),
  deadlineMs,
).unref();
process.once('SIGINT', () => void finish('interrupted'));
process.once('SIGTERM', () => void finish('terminated'));

log(
  `bench:cluster: ${workload.symbols} symbols, ${workload.ticksPerSecond} ticks/s (step ${workload.stepMs} ms); ` +
    `clients watch ${perSocket} symbols at ${workload.hz} Hz; ${seconds} s measured after ${warmupS} s; Redis ${redisNodes.join(', ')}`,
);
try {
  await redisStats();
} catch (err) {
  await finish(`no Redis at ${redisNodes.join(', ')}: ${(err as Error).message}`);
}
for (const clients of clientCounts)
  for (let round = 1; round <= rounds; round++)
    for (const mode of modes as Mode[]) rows.push(await measure(mode, clients, round));
await finish();
