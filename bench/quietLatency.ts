/**
 * `npm run bench:latency`: tick-to-client latency of a quiet symbol (a tick every few seconds) and of busy ones,
 * with a quiet symbol's update sent at once (`pipeline.promptAfterMs`, the default) and with it held for its
 * lane's tick (`promptAfterMs: 0`), side by side. The server is `tickstream serve` in its own process with two
 * feeds: the simulator (busy symbols) and an SSE upstream served from here, whose quiet symbols tick at random
 * every few seconds, stamped when sent. A Socket.IO client here watches both kinds at 4 Hz; latency is arrival
 * minus the quote's `ts` (for a busy symbol that includes the wait for its interval: conflation, by design).
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { io } from 'socket.io-client';
import type { ClientToServerEvents, Quote, ServerToClientEvents } from '../src/protocol.js';
import { ServerProcess, type Workload } from './serverProcess.js';

const HELP = `npm run bench:latency -- [options]

Options:
  --seconds N     measured seconds per mode (default 40)
  --quiet N       quiet symbols (default 5), each ticking every --every-ms +- 50%
  --every-ms N    a quiet symbol's mean silence (default 3000)
  --hz N          the client's rate (default 4)
  --tps N         the simulator's ticks per second for the busy symbols (default 10000)
  -h, --help      this text`;

function parse() {
  try {
    return parseArgs({
      options: {
        seconds: { type: 'string', default: '40' },
        quiet: { type: 'string', default: '5' },
        'every-ms': { type: 'string', default: '3000' },
        hz: { type: 'string', default: '4' },
        tps: { type: 'string', default: '10000' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    console.error(`bench:latency: ${(err as Error).message}\n\n${HELP}`);
    process.exit(2);
  }
}
const values = parse();
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
const num = (name: string, text: string) => {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`bench:latency: --${name}: expected a positive number, got "${text}"`);
    process.exit(2);
  }
  return n;
};
const seconds = num('seconds', values.seconds);
const quietCount = num('quiet', values.quiet);
const everyMs = num('every-ms', values['every-ms']);
const hz = num('hz', values.hz);
const QUIET = Array.from({ length: quietCount }, (_, i) => `QUIET${i + 1}`);
const BUSY = ['AAPL', 'MSFT', 'NVDA', 'TSLA', 'AMZN', 'GOOGL', 'META', 'JPM', 'V', 'KO'];
const log = (line: string) => process.stderr.write(`${line}\n`);

/** An SSE upstream of the quiet symbols, each ticking at random every `everyMs` +- 50%. */
async function quietUpstream(): Promise<{ url: string; close(): Promise<void> }> {
  const streams = new Set<ServerResponse>();
  const timers: NodeJS.Timeout[] = [];
  let id = 0;
  const server = createServer((req, res) => {
    if (req.url !== '/events') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
    res.write(': quiet upstream\n\n');
    streams.add(res);
    req.on('close', () => streams.delete(res));
  });
  const price = new Map(QUIET.map((s, i) => [s, 50 + i]));
  for (const symbol of QUIET) {
    const tick = () => {
      const next = (price.get(symbol) ?? 50) + (Math.random() - 0.5) * 0.1;
      price.set(symbol, next);
      const data = JSON.stringify({ symbol, price: Math.round(next * 100) / 100, ts: Date.now(), size: 100 });
      for (const res of streams) res.write(`id: ${++id}\ndata: ${data}\n\n`);
      timers.push(setTimeout(tick, everyMs * (0.5 + Math.random())));
    };
    timers.push(setTimeout(tick, everyMs * Math.random()));
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`,
    close: async () => {
      for (const t of timers) clearTimeout(t);
      for (const res of streams) res.end();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

type Percentiles = { n: number; p50: number; p90: number; p99: number; max: number };
function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
  return { n: sorted.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted.at(-1) ?? Number.NaN };
}

async function measure(promptAfterMs: number): Promise<{ quiet: Percentiles; busy: Percentiles }> {
  const upstream = await quietUpstream();
  const workload: Workload = {
    symbols: 500,
    ticksPerSecond: num('tps', values.tps),
    stepMs: 5,
    hz,
    seed: 42,
    parser: 'json',
    lanes: 4,
    promptAfterMs,
  };
  const server = await ServerProcess.start('tickstream', workload, '/tmp', {
    args: [
      '--set',
      `feeds=${JSON.stringify([
        {
          type: 'simulated',
          id: 'sim',
          seed: 42,
          ticksPerSecond: workload.ticksPerSecond,
          intervalMs: 5,
          symbols: 500,
          offHoursFactor: 1,
        },
        { type: 'sse', id: 'quiet', url: upstream.url, symbols: QUIET },
      ])}`,
    ],
  });
  const socket = io(server.url, { transports: ['websocket'] }) as import('socket.io-client').Socket<
    ServerToClientEvents,
    ClientToServerEvents
  >;
  const quiet: number[] = [];
  const busy: number[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    const ack = await socket.timeout(10_000).emitWithAck('subscribe', { symbols: [...QUIET, ...BUSY], maxHz: hz });
    if (!ack.ok) throw new Error(ack.error.message);
    let measuring = false;
    socket.on('ticks', (quotes: Quote[]) => {
      if (!measuring) return;
      const now = Date.now();
      for (const q of quotes) (q.symbol.startsWith('QUIET') ? quiet : busy).push(now - q.ts);
    });
    await new Promise((r) => setTimeout(r, 3000)); // warm-up
    measuring = true;
    await new Promise((r) => setTimeout(r, seconds * 1000));
  } finally {
    socket.close();
    await server.stop();
    await upstream.close();
  }
  return { quiet: percentiles(quiet), busy: percentiles(busy) };
}

const rows: string[] = [
  '| mode | quiet symbol: n, p50 / p90 / p99 / max ms | busy symbols: p50 / p90 / p99 ms |',
  '|---|---|---|',
];
for (const promptAfterMs of [1000, 0]) {
  const mode = promptAfterMs
    ? `prompt after ${promptAfterMs} ms (default)`
    : 'held for the lane tick (promptAfterMs 0)';
  log(`- ${mode}: ${seconds} s, ${QUIET.length} quiet symbols every ~${everyMs} ms, ${BUSY.length} busy, ${hz} Hz`);
  const { quiet, busy } = await measure(promptAfterMs);
  rows.push(
    `| ${mode} | ${quiet.n}, ${quiet.p50} / ${quiet.p90} / ${quiet.p99} / ${quiet.max} | ${busy.p50} / ${busy.p90} / ${busy.p99} |`,
  );
}
console.log(rows.join('\n'));
process.exit(0);
