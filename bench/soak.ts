/**
 * `npm run bench:soak`: does a server give back what its clients took? Rounds of churn against one tickstream
 * process: N sockets connect, subscribe (the realistic workload's sets), receive for a while, and go; beside
 * them a few clients keep subscribing and unsubscribing symbols on the same connection. After each round, once
 * the server's gauges say every socket and subscription is gone, its JS heap is measured after a full GC. A
 * heap that grows round after round is a leak per connection or per subscription; the figure is the growth
 * per churned socket between the second round and the last (the first warms caches and JIT code).
 * With `--role gateway` the same runs against a gateway (an ingest beside it, over the local Redis), which
 * must also end with no quote channel subscribed in Redis.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createClient } from 'redis';
import { io as connectClient, type Socket } from 'socket.io-client';
import { exitOnHelp, failFlags, HELP_FLAG, parseFlags } from '../scripts/flags.js';
import type { ClientToServerEvents, ServerToClientEvents } from '../src/protocol.js';
import { growth, type Totals, totalsOf } from './heapTotals.js';
import { LoadPool } from './loadgen/pool.js';
import { BENCH_DIR, DEFAULT_WORKLOAD, ServerProcess, seriesSum } from './serverProcess.js';
import { subscriptionsFor } from './workload.js';

const HELP = `npm run bench:soak -- [options]

Options:
  --rounds N        rounds of churn (default 6)
  --sockets N       sockets that connect, subscribe and leave each round (default 1000)
  --hold S          seconds each round's sockets receive before they go (default 5)
  --churners N      clients that subscribe and unsubscribe on one connection through every round (default 20)
  --diff            also a heap snapshot after round 2 and after the last, and what grew between them by kind
                    of object (per round)
  --role ROLE       serve (default), or gateway: an ingest and one gateway over Redis (--redis URL, default
                    redis://127.0.0.1:6379), the rounds against the gateway
  -h, --help        this text`;

const { values } = parseFlags('bench:soak', HELP, () =>
  parseArgs({
    options: {
      rounds: { type: 'string', default: '6' },
      sockets: { type: 'string', default: '1000' },
      hold: { type: 'string', default: '5' },
      churners: { type: 'string', default: '20' },
      role: { type: 'string', default: 'serve' },
      diff: { type: 'boolean', default: false },
      redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
      help: HELP_FLAG,
    },
  }),
);
exitOnHelp(HELP, values);
const rounds = Number(values.rounds);
const sockets = Number(values.sockets);
const holdMs = Number(values.hold) * 1000;
const churners = Number(values.churners);
const role = values.role;
if (
  !(rounds >= 3) ||
  !(sockets > 0) ||
  !(holdMs > 0) ||
  !(churners >= 0) ||
  !Number.isInteger(churners) ||
  (role !== 'serve' && role !== 'gateway')
) {
  failFlags(
    'bench:soak',
    HELP,
    'expected --rounds N >= 3, --sockets N > 0, --hold S > 0, --churners N >= 0, --role serve|gateway',
  );
}

const workload = DEFAULT_WORKLOAD;
const log = (line: string) => process.stderr.write(`${line}\n`);

/** A gauge's value from the server's /metrics (the sum over its label sets). */
async function gauge(url: string, name: string): Promise<number> {
  return seriesSum(await (await fetch(`${url}/metrics`)).text(), name);
}

/** Waits until `check` holds, or fails naming what it waited for. */
async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`bench:soak: no ${what} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

type Churner = Socket<ServerToClientEvents, ClientToServerEvents>;

/**
 * Clients that each keep one connection and, every 50 ms, subscribe to a few symbols (some at another rate)
 * or unsubscribe some they hold: what a dashboard user editing a watchlist does, many times over.
 */
function startChurn(url: string, count: number, symbols: string[]) {
  const clients: Churner[] = [];
  let requests = 0;
  let errors = 0;
  let seed = 7;
  const random = (n: number) => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed % n;
  };
  for (let i = 0; i < count; i++) {
    const client: Churner = connectClient(url, { transports: ['websocket'], reconnection: false });
    clients.push(client);
  }
  const timer = setInterval(() => {
    for (const client of clients) {
      if (!client.connected) continue;
      const picked = Array.from({ length: 1 + random(5) }, () => symbols[random(symbols.length)] ?? 'AAPL');
      requests++;
      const count = (ack: { ok: boolean }) => {
        if (!ack.ok) errors++;
      };
      if (random(2) === 0) client.emit('subscribe', { symbols: picked, maxHz: [1, 4, 10][random(3)] }, count);
      else client.emit('unsubscribe', { symbols: picked }, count);
    }
  }, 50);
  return {
    counts: () => ({ requests, errors }),
    /** Unsubscribes everything each client holds, then disconnects it. */
    stop() {
      clearInterval(timer);
      for (const client of clients) client.disconnect();
    },
  };
}

const resultsDir = `${BENCH_DIR}/results`;
// A prefix of its own, so the run's keys and channels are told apart from anyone else's, and removed after.
const prefix = `tssoak:${randomUUID().slice(0, 8)}:`;
const clusterArgs = ['--set', `cluster.redis=${values.redis}`, '--set', `cluster.keyPrefix=${prefix}`];
const ingest =
  role === 'gateway'
    ? await ServerProcess.start('tickstream', workload, resultsDir, { role: 'ingest', args: clusterArgs })
    : undefined;
const server = await ServerProcess.start('tickstream', workload, resultsDir, {
  inspect: true,
  ...(role === 'gateway' ? { role: 'gateway', args: clusterArgs } : {}),
});
await until(async () => (await fetch(`${server.url}/readyz`)).ok, 30_000, `${role} ready`);

/** The quote channels (sharded pub/sub) that anyone subscribes to in Redis under the run's prefix. */
async function quoteChannels(): Promise<string[]> {
  const redis = createClient({ url: values.redis });
  await redis.connect();
  try {
    return await redis.sendCommand<string[]>(['PUBSUB', 'SHARDCHANNELS', `${prefix}q:*`]);
  } finally {
    redis.destroy();
  }
}

async function dropKeys(): Promise<void> {
  const redis = createClient({ url: values.redis });
  await redis.connect();
  try {
    for await (const batch of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 }))
      for (const key of batch) await redis.del(key);
  } finally {
    redis.destroy();
  }
}

const universe = Array.from(
  new Set(
    subscriptionsFor('uniform', 200, {
      perSocket: 20,
      universe: workload.symbols,
      seed: 1,
      watchlistShare: 0,
      zipfExponent: 1,
    }).flat(),
  ),
);
const churn = startChurn(server.url, churners, universe);
const rows: { round: number; heapMB: number; received: number; opened: number }[] = [];
const snapshots: Totals[] = [];
try {
  const baseline = await server.collectGarbage();
  log(`- tickstream: ${(baseline.usedHeapBytes / 2 ** 20).toFixed(1)} MB of JS heap before the first round`);
  for (let round = 1; round <= rounds; round++) {
    const pool = new LoadPool();
    const subscriptions = subscriptionsFor('realistic', sockets, {
      perSocket: 20,
      universe: workload.symbols,
      seed: round,
      watchlistShare: 0.3,
      zipfExponent: 1,
    });
    const opened = await pool.openAll([server.url], subscriptions, { hz: workload.hz });
    pool.reset();
    await new Promise((resolve) => setTimeout(resolve, holdMs));
    const report = await pool.report();
    await pool.close();
    // Gone means gone from the server's own books: connections (the churners' stay) and their subscriptions.
    await until(
      async () => (await gauge(server.url, 'tickstream_connections')) <= churners,
      30_000,
      'round sockets gone',
    );
    const heap = await server.collectGarbage();
    if (values.diff && (round === 2 || round === rounds)) snapshots.push(totalsOf(await server.heapSnapshot()));
    rows.push({ round, heapMB: heap.usedHeapBytes / 2 ** 20, received: report.received, opened: opened.connected });
    log(
      `- round ${round}: ${opened.connected} sockets, ${report.received} updates received, heap after GC ${(heap.usedHeapBytes / 2 ** 20).toFixed(2)} MB, churn ${JSON.stringify(churn.counts())}`,
    );
  }
  churn.stop();
  await until(async () => (await gauge(server.url, 'tickstream_connections')) === 0, 30_000, 'churners gone');
  await until(async () => (await gauge(server.url, 'tickstream_subscriptions')) === 0, 30_000, 'subscriptions gone');
  const channels = role === 'gateway' ? await quoteChannels() : [];
  const end = await server.collectGarbage();
  const second = rows[1];
  const last = rows.at(-1);
  if (!second || !last) throw new Error('bench:soak: fewer than two rounds measured');
  const perSocket = ((last.heapMB - second.heapMB) * 2 ** 20) / ((rows.length - 2) * sockets);
  console.log('| round | sockets | updates received | JS heap after GC (MB) |\n|---|---|---|---|');
  for (const row of rows) console.log(`| ${row.round} | ${row.opened} | ${row.received} | ${row.heapMB.toFixed(2)} |`);
  console.log(
    `tickstream ${role}: ${perSocket.toFixed(1)} bytes of heap kept per churned socket (rounds 2 to ${last.round}); ` +
      `${(end.usedHeapBytes / 2 ** 20).toFixed(2)} MB with every client gone, ${(baseline.usedHeapBytes / 2 ** 20).toFixed(2)} MB before the first; ` +
      `${churn.counts().requests} subscribe/unsubscribe requests by ${churners} churners, ${churn.counts().errors} refused` +
      (role === 'gateway' ? `; quote channels still subscribed in Redis: ${channels.length}` : ''),
  );
  const [afterSecond, afterLast] = snapshots;
  if (afterSecond && afterLast) {
    console.log(`\nWhat grew from round 2 to ${rounds}, per round:\n| kind of object | count | bytes |\n|---|---|---|`);
    for (const row of growth(afterSecond, afterLast, rounds - 2).slice(0, 15))
      console.log(`| ${row.key} | ${row.count.toFixed(1)} | ${row.bytes.toFixed(0)} |`);
  }
  if (channels.length)
    console.log(`bench:soak: the gateway kept its Redis subscriptions: ${channels.slice(0, 10).join(', ')}`);
} finally {
  churn.stop();
  await server.stop();
  await ingest?.stop();
  if (role === 'gateway') await dropKeys();
}
process.exit(0);
