/**
 * Replay pacing as a client sees it: `npm run bench:replay-pacing -- [FILE] [--speed 10] [--seconds 30]
 * [--runs 3] [--hz 1000] [--trace-gc]`. Starts `tickstream replay FILE` in its own process (the replay's
 * V8 flags, a 1000 Hz rate tier so conflation keeps nearly every quote), subscribes a Socket.IO client on
 * 127.0.0.1 to every symbol and takes, for each quote that arrives, its arrival time against when the
 * recording says it is due: the recorded receive times (running maximum), silences cut to the max gap,
 * divided by the speed. A quote is matched to its record by symbol and `seq` (the server numbers each
 * symbol's quotes from 1 in recorded order, and nothing seeks). The constant part of the delay (pipeline,
 * socket) is the smallest lateness seen, subtracted; what is left is the pacing error.
 */
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { io } from 'socket.io-client';
import { exitOnHelp, failFlags, HELP_FLAG, parseFlags } from '../scripts/flags.js';
import { PROJECT_ROOT } from '../src/config/load.js';
import type { Quote, SubscribeAck, SymbolInfo } from '../src/protocol.js';
import { parseLine } from '../src/record/format.js';
import { scanLines } from '../src/record/lines.js';
import { startReplayServer } from './replayServer.js';

const HELP = `bench/replayPacing.ts: replay pacing error as a client sees it

Usage: npm run bench:replay-pacing -- [FILE] [options]

  FILE            a recording (default demo/session.ndjson.gz)
  --speed S       replay speed (default 10)
  --seconds N     wall seconds measured per run (default 30), after --warmup
  --warmup N      wall seconds ignored at the start of each run (default 2)
  --runs N        server processes, one after the other (default 3)
  --hz N          the client's maxHz; a rate tier of this is added to the server (default 1000)
  --max-gap MS    the replay's --max-gap (default 5000)
  --trace-gc      run the server with --trace-gc and report its pauses over 5 ms
  --bin PATH      the tickstream to run (default this checkout's bin/tickstream.js), to compare builds
  --node-flags=F  the server's V8 flags instead of the replay's own (e.g. --node-flags=--max-semi-space-size=64)
  -h, --help      this help

Prints, per run and over all runs, the lateness percentiles (ms) p50 / p99 / p99.9 / max, how many quotes
arrived against how many the recording holds in the window, the GC pauses, and the load average (the
figures are only as quiet as the machine).`;

const { values, positionals } = parseFlags('bench:replay-pacing', HELP, () =>
  parseArgs({
    allowPositionals: true,
    options: {
      speed: { type: 'string', default: '10' },
      seconds: { type: 'string', default: '30' },
      warmup: { type: 'string', default: '2' },
      runs: { type: 'string', default: '3' },
      hz: { type: 'string', default: '1000' },
      'max-gap': { type: 'string', default: '5000' },
      'trace-gc': { type: 'boolean', default: false },
      bin: { type: 'string' },
      'node-flags': { type: 'string' },
      help: HELP_FLAG,
    },
  }),
);
exitOnHelp(HELP, values);
const number = (flag: string, text: string, min: number): number => {
  const n = Number(text);
  if (!Number.isFinite(n) || n < min)
    failFlags('bench:replay-pacing', HELP, `--${flag}: expected a number >= ${min}, got "${text}"`);
  return n;
};
const file = resolve(positionals[0] ?? resolve(PROJECT_ROOT, 'demo/session.ndjson.gz'));
const speed = number('speed', values.speed, 0.5);
const seconds = number('seconds', values.seconds, 1);
const warmup = number('warmup', values.warmup, 0);
const runs = number('runs', values.runs, 1);
const hz = number('hz', values.hz, 1);
const maxGapMs = number('max-gap', values['max-gap'], 1);

/**
 * Each symbol's due offsets (wall ms after the replay started), in recorded order: the schedule the
 * replay promises, written out from the recording (not from the code that paces it).
 */
async function schedule(horizonMs: number): Promise<Map<string, number[]>> {
  const bySymbol = new Map<string, number[]>();
  let previous: number | undefined;
  let due = 0;
  await scanLines(file, (text, lineNo) => {
    const verdict = parseLine(text, lineNo === 1);
    if (verdict.kind !== 'record') return;
    const time = previous === undefined ? verdict.record.recvTs : Math.max(previous, verdict.record.recvTs);
    if (previous !== undefined) due += Math.min(maxGapMs, time - previous) / speed;
    previous = time;
    if (due > horizonMs) return false;
    const dues = bySymbol.get(verdict.record.symbol) ?? [];
    if (dues.length === 0) bySymbol.set(verdict.record.symbol, dues);
    dues.push(due);
  });
  return bySymbol;
}

type Run = { lateness: number[]; received: number; expected: number; gcPauses: number[] };

async function measure(dues: Map<string, number[]>): Promise<Run> {
  const server = await startReplayServer({
    files: [file],
    args: [
      '--speed',
      String(speed),
      '--max-gap',
      String(maxGapMs),
      '--set',
      `pipeline.tiers=[1,2,4,10,20,${hz}]`,
      '--set',
      'limits.maxSymbolsPerRequest=10000',
      '--set',
      'limits.maxSymbolsPerSocket=10000',
    ],
    traceGc: values['trace-gc'],
    ...(values['node-flags'] === undefined ? {} : { nodeFlags: values['node-flags'].split(' ').filter(Boolean) }),
    ...(values.bin === undefined ? {} : { bin: values.bin }),
  });
  const gcBefore = { count: 0 };
  try {
    const symbols = ((await (await fetch(`${server.url}/api/symbols`)).json()) as { symbols: SymbolInfo[] }).symbols;
    const socket = io(server.url, { transports: ['websocket'], reconnection: false });
    const arrivals: { quote: Quote; at: number }[] = [];
    socket.on('ticks', (quotes: Quote[]) => {
      const at = performance.timeOrigin + performance.now();
      for (const quote of quotes) arrivals.push({ quote, at });
    });
    await new Promise<void>((done, fail) => {
      socket.once('connect', () => done());
      socket.once('connect_error', fail);
    });
    const ack: SubscribeAck = await socket.emitWithAck('subscribe', {
      symbols: symbols.map((s) => s.symbol),
      maxHz: hz,
    });
    if (!ack.ok) throw new Error(`subscribe: ${ack.error.message}`);
    await new Promise((r) => setTimeout(r, warmup * 1000));
    const from = arrivals.length;
    gcBefore.count = server.gcPauses.length;
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const window = arrivals.slice(from);
    socket.close();
    // Lateness against the schedule; its constant part (when the replay started, the path to here) is the minimum.
    const raw: number[] = [];
    for (const { quote, at } of window) {
      const due = dues.get(quote.symbol)?.[quote.seq - 1];
      if (due !== undefined) raw.push(at - due);
    }
    const base = Math.min(...raw);
    const lateness = raw.map((l) => l - base).sort((a, b) => a - b);
    const firstSeq = new Map<string, number>();
    const lastSeq = new Map<string, number>();
    for (const { quote } of window) {
      if (!firstSeq.has(quote.symbol)) firstSeq.set(quote.symbol, quote.seq);
      lastSeq.set(quote.symbol, quote.seq);
    }
    let expected = 0;
    for (const [symbol, last] of lastSeq) expected += last - (firstSeq.get(symbol) ?? last) + 1;
    return { lateness, received: window.length, expected, gcPauses: server.gcPauses.slice(gcBefore.count) };
  } finally {
    await server.stop();
  }
}

const at = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
const line = (label: string, sorted: number[]) =>
  `${label}: p50 ${at(sorted, 0.5).toFixed(2)}  p99 ${at(sorted, 0.99).toFixed(2)}  p99.9 ${at(sorted, 0.999).toFixed(2)}  max ${at(sorted, 1).toFixed(2)} ms`;

const dues = await schedule((warmup + seconds + 120) * 1000);
console.log(
  `${file} at ${speed}x, client maxHz ${hz}, ${runs} run(s) of ${seconds} s; load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} on ${cpus().length} cores`,
);
const all: number[] = [];
for (let r = 1; r <= runs; r++) {
  const run = await measure(dues);
  all.push(...run.lateness);
  const gc = values['trace-gc']
    ? `; GC pauses ${run.gcPauses.length}, over 5 ms ${run.gcPauses.filter((p) => p > 5).length}, max ${Math.max(0, ...run.gcPauses).toFixed(1)} ms`
    : '';
  console.log(
    `${line(`run ${r}`, run.lateness)}  (${run.received} quotes of ${run.expected} in the window${gc}; load ${loadavg()[0]?.toFixed(2)})`,
  );
}
all.sort((a, b) => a - b);
console.log(line('all runs', all));
