/**
 * `npm run bench:admin-ui [-- --sockets 1000]`: what the Socket.IO Admin UI costs tickstream in CPU. The same
 * server and workload with `server.adminUi` off, in `production` mode and in `development` mode (each with an
 * Admin UI client logged in, as when an operator watches), measured in interleaved rounds (off, production,
 * development, off, ...) so that load from elsewhere on the machine falls on every variant alike.
 */
import { parseArgs } from 'node:util';
import bcrypt from 'bcryptjs';
import { io as connectClient, type Socket } from 'socket.io-client';
import { exitOnHelp, failFlags, HELP_FLAG, parseFlags } from '../scripts/flags.js';
import { LoadPool } from './loadgen/pool.js';
import { median } from './median.js';
import { BENCH_DIR, ServerProcess, type Workload } from './serverProcess.js';
import { socketSubscriptions } from './workload.js';

const HELP = `npm run bench:admin-ui -- [options]: tickstream's CPU with the Socket.IO Admin UI off, in production
mode and in development mode, same workload, interleaved rounds; prints the ratios to "off"

Options:
  --sockets N       client sockets (default 1000)
  --per-socket N    symbols each watches (default 20)
  --hz N            rate they ask for (default 4)
  --symbols N       universe size (default 500)
  --tps N           upstream ticks per second (default 10000)
  --variants LIST   which of off,production,development (default all three)
  --rounds N        rounds of the variants (default 3)
  --duration S      measured seconds per variant and round (default 10)
  --warmup S        seconds before measuring (default 3)
  -h, --help        this text`;

const fail = (message: string): never => failFlags('bench:admin-ui', HELP, message);
const { values } = parseFlags('bench:admin-ui', HELP, () =>
  parseArgs({
    options: {
      sockets: { type: 'string', default: '1000' },
      'per-socket': { type: 'string', default: '20' },
      hz: { type: 'string', default: '4' },
      symbols: { type: 'string', default: '500' },
      tps: { type: 'string', default: '10000' },
      variants: { type: 'string', default: 'off,production,development' },
      rounds: { type: 'string', default: '3' },
      duration: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '3' },
      help: HELP_FLAG,
    },
  }),
);
exitOnHelp(HELP, values);
const number = (name: string, text: string): number => {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) fail(`--${name}: expected a positive number, got "${text}"`);
  return n;
};
const sockets = number('sockets', values.sockets);
const perSocket = number('per-socket', values['per-socket']);
const rounds = number('rounds', values.rounds);
const durationMs = number('duration', values.duration) * 1000;
const warmupMs = number('warmup', values.warmup) * 1000;
const workload: Workload = {
  symbols: number('symbols', values.symbols),
  ticksPerSecond: number('tps', values.tps),
  stepMs: 5,
  hz: number('hz', values.hz),
  seed: 42,
  parser: 'json',
  lanes: 4,
  promptAfterMs: 1000,
};

const PASSWORD = 'bench-admin';
const passwordHash = bcrypt.hashSync(PASSWORD, 4);
type Variant = 'off' | 'production' | 'development';
const isVariant = (v: string): v is Variant => v === 'off' || v === 'production' || v === 'development';
const VARIANTS: Variant[] = values.variants.split(',').map((text) => {
  const v = text.trim();
  return isVariant(v) ? v : fail(`--variants: expected off, production or development, got "${v}"`);
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => process.stderr.write(`${line}\n`);

/** An operator's Admin UI, logged in for the whole measurement. */
async function openAdminUi(url: string): Promise<Socket> {
  const admin = connectClient(`${url}/admin`, {
    transports: ['websocket'],
    reconnection: false,
    auth: { username: 'admin', password: PASSWORD },
  });
  await new Promise<void>((resolve, reject) => {
    admin.once('connect', () => resolve());
    admin.once('connect_error', reject);
  });
  return admin;
}

async function measure(variant: Variant): Promise<{ cpuPct: number; cpuMsPer1k: number; updatesPerSec: number }> {
  const adminUi =
    variant === 'off' ? [] : ['--set', `server.adminUi=${JSON.stringify({ passwordHash, mode: variant })}`];
  const server = await ServerProcess.start('tickstream', workload, `${BENCH_DIR}/results`, { args: adminUi });
  const pool = new LoadPool();
  let admin: Socket | undefined;
  try {
    if (variant !== 'off') admin = await openAdminUi(server.url);
    await pool.openAll([server.url], socketSubscriptions(sockets, perSocket, workload.symbols, workload.seed), {
      hz: workload.hz,
    });
    await sleep(warmupMs);
    pool.reset();
    const before = server.sample();
    await sleep(durationMs);
    const after = server.sample();
    const report = await pool.report();
    const cpuMs = after.cpuMs - before.cpuMs;
    const seconds = (after.at - before.at) / 1000;
    return {
      cpuPct: (cpuMs / (seconds * 1000)) * 100,
      cpuMsPer1k: cpuMs / (report.received / 1000),
      updatesPerSec: report.received / seconds,
    };
  } finally {
    admin?.close();
    await pool.close();
    await server.stop();
  }
}

async function main(): Promise<void> {
  log(
    `bench:admin-ui: ${sockets} sockets x ${perSocket} symbols at ${workload.hz} Hz, ${workload.symbols} symbols, ` +
      `${workload.ticksPerSecond} ticks/s; ${rounds} rounds of ${VARIANTS.join(', ')}`,
  );
  const results = new Map<Variant, { cpuPct: number; cpuMsPer1k: number; updatesPerSec: number }[]>();
  for (let round = 1; round <= rounds; round++) {
    for (const variant of VARIANTS) {
      const r = await measure(variant).catch((err: Error) => {
        // A variant that cannot serve the workload is a result too: say so and go on with the others.
        log(`  round ${round} ${variant}: failed: ${err.message}`);
        return undefined;
      });
      if (!r) continue;
      log(
        `  round ${round} ${variant}: cpu ${r.cpuPct.toFixed(1)}%, ${r.cpuMsPer1k.toFixed(2)} ms per 1k updates, ` +
          `${Math.round(r.updatesPerSec).toLocaleString('en-US')} updates/s`,
      );
      results.set(variant, [...(results.get(variant) ?? []), r]);
    }
  }
  const off = median((results.get('off') ?? []).map((r) => r.cpuMsPer1k));
  console.log('\n| admin ui | cpu % (median) | cpu ms / 1k updates (median) | vs off |');
  console.log('|---|---|---|---|');
  for (const variant of VARIANTS) {
    const runs = results.get(variant) ?? [];
    if (runs.length === 0) {
      console.log(`| ${variant} | failed | failed | - |`);
      continue;
    }
    const perK = median(runs.map((r) => r.cpuMsPer1k));
    console.log(
      `| ${variant} | ${median(runs.map((r) => r.cpuPct)).toFixed(1)} | ${perK.toFixed(2)} | ${(perK / off).toFixed(2)}x |`,
    );
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
