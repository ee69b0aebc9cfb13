import { resolve } from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { ServerKind } from './serverProcess.js';
import { WORKLOAD_KINDS, type WorkloadKind } from './workload.js';

export const HELP = `npm run bench -- [options]
  --quick               about a minute and a half: 300 sockets, short windows, 300 idle sockets, a 5 s
                        handshake timeout, no step search, a 90 s budget
  --servers LIST        tickstream,naive,raw (default all three)
  --workload W          uniform, realistic or both (default both): uniform random symbols, or Zipf
                        popularity with a share of sockets on the dashboard's default watchlist
  --watchlist-share F   realistic: share of sockets (0..1) on the default watchlist (default 0.3)
  --zipf S              realistic: Zipf exponent of symbol popularity (default 1)
  --sockets LIST        socket counts of the fixed-size table (default 1000,5000)
  --symbols N           universe size (default 500)
  --tps N               upstream ticks per second (default 10000)
  --step-ms N           the simulator's step: ticks arrive in a burst every N ms (default 5)
  --per-socket N        symbols each socket watches (default 20; watchlist sockets watch the list)
  --hz N                rate each socket asks for (default 4)
  --duration S          measured seconds per fixed-size run (default 15)
  --warmup S            seconds before measuring (default 3)
  --probes N            sockets opened one by one while each run is measured, for the ack latency of
                        admission under load (default 100; 0: none)
  --handshake-timeout S a socket not subscribed within this is counted as not subscribed (default 15)
  --idle N              idle sockets for the RSS-per-socket figure (default 5000; 0 skips)
  --step-max N          the step search, for every server, stops at this many sockets (default 50000;
                        0 skips it)
  --step-duration S     measured seconds per step (default 8)
  --budget S            the whole run's time budget, spread over its parts; whatever does not fit is
                        skipped and the output says so (default 1440; --quick: 90, and 30 more for
                        each step search a --step-max asks for)
  --parser json|msgpack tickstream's Socket.IO parser (default json)
  --lanes N             tickstream's pipeline.lanes: clock phases a tier's sockets are spread over (default 4)
  --prompt-after-ms N   tickstream's pipeline.promptAfterMs (default 1000; 0: a quiet symbol waits for its tick)
  --deltas              ask tickstream for field deltas (Socket.IO auth {"deltas":true}), as the SDK and
                        the dashboard do by default; the other servers get whole quotes
  --threads N           load generator threads (default 2)
  --seed N              simulator and subscription seed (default 42)
  --results DIR         where the JSON and the SVG chart go (default bench/results)
  --chart PATH          also copy the chart there (e.g. docs/bench.svg, which the README shows)
  -h, --help            this text

A step passes with frame lag p99 < 100 ms, received/sent >= 0.99, for the conflating servers (tickstream,
raw) >= 0.99 of the frames owed (hz per subscribed socket), and every socket subscribed.`;

export type BenchOptions = {
  quick: boolean;
  servers: ServerKind[];
  workloads: WorkloadKind[];
  watchlistShare: number;
  zipfExponent: number;
  socketCounts: number[];
  symbols: number;
  ticksPerSecond: number;
  stepMs: number;
  perSocket: number;
  hz: number;
  durationS: number;
  warmupS: number;
  probes: number;
  handshakeTimeoutS: number;
  idleSockets: number;
  stepMax: number;
  stepDurationS: number;
  budgetS: number;
  parser: 'json' | 'msgpack';
  lanes: number;
  promptAfterMs: number;
  deltas: boolean;
  threads: number;
  seed: number;
  resultsDir: string;
  chartCopy?: string;
};

const SERVER_KINDS: readonly ServerKind[] = ['tickstream', 'naive', 'raw'];
/** A quick run asked for a step search (--step-max) gets this much more budget per server and workload. */
const QUICK_SECONDS_PER_SEARCH = 30;

/** The flags parseArgs reads (each one documented in HELP). */
export const FLAGS = {
  quick: { type: 'boolean', default: false },
  servers: { type: 'string', default: SERVER_KINDS.join(',') },
  workload: { type: 'string', default: 'both' },
  'watchlist-share': { type: 'string', default: '0.3' },
  zipf: { type: 'string', default: '1' },
  sockets: { type: 'string' },
  symbols: { type: 'string', default: '500' },
  tps: { type: 'string', default: '10000' },
  'step-ms': { type: 'string', default: '5' },
  'per-socket': { type: 'string', default: '20' },
  hz: { type: 'string', default: '4' },
  duration: { type: 'string' },
  warmup: { type: 'string' },
  probes: { type: 'string' },
  'handshake-timeout': { type: 'string' },
  idle: { type: 'string' },
  'step-max': { type: 'string' },
  'step-duration': { type: 'string' },
  budget: { type: 'string' },
  parser: { type: 'string', default: 'json' },
  lanes: { type: 'string', default: '4' },
  'prompt-after-ms': { type: 'string', default: '1000' },
  deltas: { type: 'boolean', default: false },
  threads: { type: 'string', default: '2' },
  seed: { type: 'string', default: '42' },
  results: { type: 'string' },
  chart: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

/** Parses and validates the bench's flags; an error's message names the flag. `help` asks for HELP. */
export function parseBenchOptions(argv: string[], benchDir: string): BenchOptions | 'help' {
  const { values } = parseArgs({ args: argv, options: FLAGS });
  if (values.help) return 'help';
  const quick = values.quick;
  const orQuick = (given: string | undefined, full: string, short: string) => given ?? (quick ? short : full);
  const servers = oneOf('servers', values.servers, SERVER_KINDS);
  const workloads = workloadsOf(values.workload);
  const stepMax = count('step-max', orQuick(values['step-max'], '50000', '0'), 0);
  const quickBudgetS = 90 + (stepMax > 0 ? QUICK_SECONDS_PER_SEARCH * servers.length * workloads.length : 0);
  return {
    quick,
    servers,
    workloads,
    watchlistShare: fraction('watchlist-share', values['watchlist-share']),
    zipfExponent: nonNegative('zipf', values.zipf),
    socketCounts: values.sockets === undefined && quick ? [300] : countList('sockets', values.sockets ?? '1000,5000'),
    symbols: count('symbols', values.symbols, 1),
    ticksPerSecond: nonNegative('tps', values.tps),
    // tickstream's config takes a simulator step of 1 to 1000 ms; the comparison servers get the same.
    stepMs: Math.min(1000, Math.max(1, Math.round(nonNegative('step-ms', values['step-ms'])))),
    perSocket: count('per-socket', values['per-socket'], 1),
    hz: positive('hz', values.hz),
    durationS: positive('duration', orQuick(values.duration, '15', '3')),
    warmupS: nonNegative('warmup', orQuick(values.warmup, '3', '1')),
    probes: count('probes', orQuick(values.probes, '100', '10'), 0),
    handshakeTimeoutS: positive('handshake-timeout', orQuick(values['handshake-timeout'], '15', '5')),
    idleSockets: count('idle', orQuick(values.idle, '5000', '300'), 0),
    stepMax,
    stepDurationS: positive('step-duration', orQuick(values['step-duration'], '8', '3')),
    budgetS: positive('budget', orQuick(values.budget, '1440', String(quickBudgetS))),
    parser: single('parser', values.parser, ['json', 'msgpack'] as const),
    lanes: count('lanes', values.lanes, 1),
    promptAfterMs: nonNegative('prompt-after-ms', values['prompt-after-ms']),
    deltas: values.deltas,
    threads: count('threads', values.threads, 1),
    seed: count('seed', values.seed, 0),
    resultsDir: resolve(values.results ?? resolve(benchDir, 'results')),
    chartCopy: values.chart === undefined ? undefined : resolve(values.chart),
  };
}

function workloadsOf(text: string): WorkloadKind[] {
  const named = oneOf('workload', text, [...WORKLOAD_KINDS, 'both'] as const);
  return WORKLOAD_KINDS.filter((kind) => named.includes(kind) || named.includes('both'));
}

function nonNegative(flag: string, text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new Error(`--${flag}: expected a non-negative number, got "${text}"`);
  return n;
}

function positive(flag: string, text: string): number {
  const n = nonNegative(flag, text);
  if (n === 0) throw new Error(`--${flag}: expected a number above 0, got "${text}"`);
  return n;
}

function count(flag: string, text: string, min: number): number {
  const n = nonNegative(flag, text);
  if (!Number.isInteger(n) || n < min)
    throw new Error(`--${flag}: expected an integer of at least ${min}, got "${text}"`);
  return n;
}

function fraction(flag: string, text: string): number {
  const n = nonNegative(flag, text);
  if (n > 1) throw new Error(`--${flag}: expected a share from 0 to 1, got "${text}"`);
  return n;
}

function countList(flag: string, text: string): number[] {
  return text.split(',').map((part) => count(flag, part.trim(), 1));
}

/** The comma-separated `text`, each entry one of `allowed`. */
function oneOf<T extends string>(flag: string, text: string, allowed: readonly T[]): T[] {
  return text.split(',').map((part) => {
    const entry = allowed.find((a) => a === part.trim());
    if (entry === undefined) throw new Error(`--${flag}: expected ${allowed.join(', ')}, got "${part.trim()}"`);
    return entry;
  });
}

function single<T extends string>(flag: string, text: string, allowed: readonly T[]): T {
  const [entry, ...more] = oneOf(flag, text, allowed);
  if (entry === undefined || more.length)
    throw new Error(`--${flag}: expected one of ${allowed.join(', ')}, got "${text}"`);
  return entry;
}
