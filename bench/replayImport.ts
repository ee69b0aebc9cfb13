/**
 * Import throughput: `npm run bench:replay-import -- [options]`. Writes a Polygon/Massive-shaped trades CSV
 * of --mb megabytes (default 1024) into a temporary folder under /tmp, sorted by ticker as the day files are
 * (so the import must sort it by time), runs `tickstream import --preset polygon-trades` on it in its own
 * process, and reports rows/s, the time taken and the importer's peak RSS. Everything is deleted at the end
 * unless --keep.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { exitOnHelp, failFlags, HELP_FLAG, parseFlags } from '../scripts/flags.js';
import { SERVER_NODE_FLAGS } from '../src/cli/nodeFlags.js';
import { PROJECT_ROOT } from '../src/config/load.js';
import { seededRandom } from '../src/feeds/random.js';
import { listings } from '../src/feeds/universe.js';

const HELP = `bench/replayImport.ts: tickstream import throughput on a generated Polygon-shaped trades CSV

Usage: npm run bench:replay-import -- [options]

  --mb N        size of the generated CSV in MB (default 1024)
  --symbols N   tickers in it (default 50)
  --tmp DIR     where to write it (default /tmp)
  --keep        keep the CSV and the recording (their paths are printed)
  -h, --help    this help`;

const { values } = parseFlags('bench:replay-import', HELP, () =>
  parseArgs({
    options: {
      mb: { type: 'string', default: '1024' },
      symbols: { type: 'string', default: '50' },
      tmp: { type: 'string', default: '/tmp' },
      keep: { type: 'boolean', default: false },
      help: HELP_FLAG,
    },
  }),
);
exitOnHelp(HELP, values);
const mb = Number(values.mb);
const symbolCount = Number(values.symbols);
if (!Number.isFinite(mb) || mb <= 0)
  failFlags('bench:replay-import', HELP, `--mb: expected a positive number, got "${values.mb}"`);
if (!Number.isInteger(symbolCount) || symbolCount < 1)
  failFlags('bench:replay-import', HELP, `--symbols: expected a whole number, got "${values.symbols}"`);
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

const dir = mkdtempSync(join(values.tmp, 'tickstream-replay-import-'));
const csv = join(dir, 'trades.csv');
const out = join(dir, 'trades.ndjson.gz');
try {
  // Each ticker's trades over the day, one ticker after the other (as Polygon sorts its day files).
  const tickers = listings(symbolCount);
  const target = mb * 1e6;
  const perTicker = target / tickers.length;
  const open = Date.UTC(2026, 10, 20, 14, 30) * 1e6;
  const day = 6.5 * 3600 * 1e9;
  const random = seededRandom(7);
  const fd = openSync(csv, 'w');
  writeSync(
    fd,
    'ticker,conditions,correction,exchange,id,participant_timestamp,price,sequence_number,sip_timestamp,size,tape,trf_id,trf_timestamp\n',
  );
  let rows = 0;
  for (const { symbol, prevClose } of tickers) {
    let written = 0;
    let price = prevClose;
    let ns = open;
    let chunk = '';
    // An estimate of the row count, so the ticker's trades spread over the day.
    const expected = perTicker / 110;
    for (let seq = 1; written < perTicker; seq++) {
      ns += Math.floor((day / expected) * (0.5 + random.next()));
      price = Math.max(0.01, Math.round(price * (1 + (random.next() - 0.5) * 0.0004) * 100) / 100);
      const size = 1 + Math.floor(random.next() * 300);
      const line = `${symbol},"12,37",0,4,${52983525035312 + seq},${ns},${price},${seq},${ns + 35_000},${size},1,0,0\n`;
      chunk += line;
      written += line.length;
      rows++;
      if (chunk.length > 1 << 20) {
        writeSync(fd, chunk);
        chunk = '';
      }
    }
    writeSync(fd, chunk);
  }
  closeSync(fd);
  console.log(
    `${csv}: ${rows} rows, ${(statSync(csv).size / 1e6).toFixed(0)} MB; load average ${load()} on ${cpus().length} cores`,
  );

  const started = performance.now();
  const child = spawn(
    process.execPath,
    [
      ...SERVER_NODE_FLAGS,
      resolve(PROJECT_ROOT, 'bin/tickstream.js'),
      'import',
      csv,
      '--preset',
      'polygon-trades',
      '--out',
      out,
      '--tmp',
      dir,
    ],
    { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let stdout = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  let peak = 0;
  const sampler = setInterval(() => {
    try {
      const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1];
      if (hwm) peak = Math.max(peak, Number(hwm) * 1024);
    } catch {
      // exited
    }
  }, 250);
  const code = await new Promise<number | null>((done) => child.on('close', done));
  clearInterval(sampler);
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`tickstream import exited ${code}:\n${stdout}`);
  console.log(stdout.trimEnd());
  console.log(
    `import: ${rows} rows (${(statSync(csv).size / 1e6).toFixed(0)} MB) in ${seconds.toFixed(1)} s: ${Math.round(rows / seconds)} rows/s, ` +
      `${(statSync(csv).size / 1e6 / seconds).toFixed(1)} MB/s; peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB; ` +
      `recording ${(statSync(out).size / 1e6).toFixed(0)} MB (load ${load()})`,
  );
} finally {
  if (values.keep) console.log(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}
