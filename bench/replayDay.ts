/**
 * A full trading day replayed: `npm run bench:replay-day -- [FILE] [options]`. Without FILE it generates one
 * (the simulator at 300 ticks/s from 09:30 to 16:00 New York: 7 million records) in a temporary folder under
 * /tmp, deleted at the end unless --keep. Then, each against `tickstream replay` in its own process: seek
 * times to ten positions (first and last record included) as an admin client sees them (the ack comes once
 * the restated state has gone out), RSS while playing at 10x, and RSS and throughput while playing at max.
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { io } from 'socket.io-client';
import { exitOnHelp, failFlags, HELP_FLAG, parseFlags } from '../scripts/flags.js';
import type { ReplayAck } from '../src/protocol.js';
import { indexFileOf, readIndex } from '../src/record/recordingIndex.js';
import { startReplayServer } from './replayServer.js';
import { generateSession } from './replaySession.js';
import { sampleProc, seriesSum } from './serverProcess.js';

const HELP = `bench/replayDay.ts: a full trading day replayed (seek times, RSS at 10x and at max, throughput at max)

Usage: npm run bench:replay-day -- [FILE] [options]

  FILE              a recording to use (default: generate a day into a temporary folder under /tmp)
  --tps N           generated ticks per second (default 300: 7 million records from 09:30 to 16:00)
  --keep            keep the generated day (its path is printed), to run again with it as FILE
  --tmp DIR         where to generate it (default /tmp)
  --seconds-10x N   how long to sample RSS at 10x (default 30)
  --max-seconds N   the longest to wait for the max-speed replay to end (default 600)
  -h, --help        this help`;

const { values, positionals } = parseFlags('bench:replay-day', HELP, () =>
  parseArgs({
    allowPositionals: true,
    options: {
      tps: { type: 'string', default: '300' },
      keep: { type: 'boolean', default: false },
      tmp: { type: 'string', default: '/tmp' },
      'seconds-10x': { type: 'string', default: '30' },
      'max-seconds': { type: 'string', default: '600' },
      help: HELP_FLAG,
    },
  }),
);
exitOnHelp(HELP, values);
const positive = (flag: string, text: string): number => {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0)
    failFlags('bench:replay-day', HELP, `--${flag}: expected a positive number, got "${text}"`);
  return n;
};
const tps = positive('tps', values.tps);
const seconds10x = positive('seconds-10x', values['seconds-10x']);
const maxSeconds = positive('max-seconds', values['max-seconds']);
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let generatedDir: string | undefined;
let file = positionals[0] ? resolve(positionals[0]) : undefined;
if (!file) {
  generatedDir = mkdtempSync(join(values.tmp, 'tickstream-replay-day-'));
  file = join(generatedDir, 'day.ndjson.gz');
  const started = performance.now();
  const records = generateSession({
    out: file,
    ticksPerSecond: tps,
    onProgress: (n) => {
      if (n % 1_000_000 === 0) console.error(`generating: ${n} records`);
    },
  });
  console.log(
    `generated ${records} records in ${((performance.now() - started) / 1000).toFixed(0)} s: ${file} ` +
      `${mib(statSync(file).size)}, index ${mib(statSync(indexFileOf(file)).size)}`,
  );
}
if (!existsSync(file)) throw new Error(`${file}: no such file`);
const lookup = await readIndex(file);
if (lookup.kind !== 'current') throw new Error(`${file} has no current index: run tickstream index ${file} first`);
const { header } = lookup.index;
const first = header.first ?? 0;
const last = header.last ?? 0;
console.log(
  `${file}: ${header.records} records, ${mib(statSync(file).size)}, ${lookup.index.checkpoints.length} checkpoints; ` +
    `load average ${load()} on ${cpus().length} cores`,
);

try {
  // Seeks, paused, then RSS while playing at 10x.
  const paced = await startReplayServer({ files: [file], args: ['--speed', '10'] });
  try {
    const socket = io(paced.url, { transports: ['websocket'], reconnection: false });
    await new Promise<void>((done, fail) => {
      socket.once('connect', () => done());
      socket.once('connect_error', fail);
    });
    const command = (cmd: Parameters<typeof socket.emitWithAck>[1]) =>
      socket.timeout(60_000).emitWithAck('replay', cmd) as Promise<ReplayAck>;
    await command({ action: 'pause' });
    const positions = Array.from({ length: 10 }, (_, i) => Math.round(first + ((last - first) * i) / 9));
    const times: number[] = [];
    for (const position of [...positions.slice(5), ...positions.slice(0, 5)]) {
      const started = performance.now();
      const ack = await command({ action: 'seek', position });
      if (!ack.ok) throw new Error(`seek: ${ack.error.message}`);
      times.push(performance.now() - started);
    }
    const sorted = [...times].sort((a, b) => a - b);
    console.log(
      `seek to 10 positions (first and last record included): ${times.map((t) => t.toFixed(0)).join(', ')} ms; ` +
        `median ${(sorted[4] ?? 0).toFixed(0)} ms, max ${(sorted[9] ?? 0).toFixed(0)} ms`,
    );
    await command({ action: 'seek', position: first });
    await command({ action: 'resume' });
    const rss: number[] = [];
    const until = Date.now() + seconds10x * 1000;
    while (Date.now() < until) {
      rss.push(sampleProc(paced.child.pid as number).rssBytes);
      await sleep(500);
    }
    socket.close();
    console.log(
      `RSS at 10x over ${seconds10x} s: first ${mib(rss[0] ?? 0)}, min ${mib(Math.min(...rss))}, max ${mib(Math.max(...rss))}, ` +
        `last ${mib(rss.at(-1) ?? 0)} (load ${load()})`,
    );
  } finally {
    await paced.stop();
  }

  // The whole day at max speed: throughput and RSS.
  const fast = await startReplayServer({ files: [file], args: ['--speed', 'max'] });
  try {
    const ticksIn = async () => {
      return seriesSum(await (await fetch(`${fast.url}/metrics`)).text(), 'tickstream_ticks_in_total');
    };
    const rss: number[] = [];
    const started = performance.now();
    let ticks = 0;
    const deadline = Date.now() + maxSeconds * 1000;
    while (ticks < header.records && Date.now() < deadline) {
      await sleep(1000);
      ticks = await ticksIn();
      rss.push(sampleProc(fast.child.pid as number).rssBytes);
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `max speed: ${ticks} records in ${seconds.toFixed(0)} s (${Math.round(ticks / seconds)} records/s, ` +
        `from the server's start, its ticks-in counter read each second); RSS min ${mib(Math.min(...rss))}, ` +
        `max ${mib(Math.max(...rss))}, last ${mib(rss.at(-1) ?? 0)} (load ${load()})`,
    );
  } finally {
    await fast.stop();
  }
} finally {
  if (generatedDir && !values.keep) rmSync(generatedDir, { recursive: true, force: true });
  else if (generatedDir) console.log(`kept ${file}`);
}
