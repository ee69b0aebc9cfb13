/**
 * `npm run bench:heap`: what each idle socket keeps in a server's JavaScript heap. The server runs in its own
 * process with the inspector on; the bench's load generator opens N idle sockets (connected, nothing
 * subscribed), the server takes a heap snapshot after a full GC, then N more and another snapshot. The
 * difference, per socket, by kind of object (constructor, closure, array, string...), is what one more
 * idle socket costs: the list to cut from.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { exitOnHelp, failFlags, HELP_FLAG, parseFlags } from '../scripts/flags.js';
import { growth, totalsOf } from './heapTotals.js';
import { LoadPool } from './loadgen/pool.js';
import { BENCH_DIR, DEFAULT_WORKLOAD, type ServerKind, ServerProcess } from './serverProcess.js';

const HELP = `npm run bench:heap -- [options]

Options:
  --server KIND   tickstream, naive or raw (default tickstream)
  --sockets N     idle sockets per step (default 2000): snapshots with N and with 2N
  --top N         rows of the difference to print (default 25)
  --keep          also write both snapshots to bench/results/heap-<server>-<N>.heapsnapshot (open them in
                  Chrome DevTools' Memory tab, 'Comparison' view, to see who retains what)
  -h, --help      this text`;

const { values } = parseFlags('bench:heap', HELP, () =>
  parseArgs({
    options: {
      server: { type: 'string', default: 'tickstream' },
      sockets: { type: 'string', default: '2000' },
      top: { type: 'string', default: '25' },
      keep: { type: 'boolean', default: false },
      help: HELP_FLAG,
    },
  }),
);
exitOnHelp(HELP, values);
const kinds: ServerKind[] = ['tickstream', 'naive', 'raw'];
const kind = kinds.find((k) => k === values.server);
const sockets = Number(values.sockets);
const top = Number(values.top);
if (!kind || !(sockets > 0) || !(top > 0)) {
  failFlags('bench:heap', HELP, `expected --server ${kinds.join('|')}, --sockets N > 0, --top N > 0`);
}

const workload = DEFAULT_WORKLOAD;
const log = (line: string) => process.stderr.write(`${line}\n`);
const server = await ServerProcess.start(kind, workload, `${BENCH_DIR}/results`, { inspect: true });
const pool = new LoadPool();
try {
  const open = async () => {
    await pool.openAll(
      [server.url],
      Array.from({ length: sockets }, () => []),
      { protocol: kind === 'raw' ? 'raw' : 'socketio', hz: 4 },
    );
  };
  const snapshot = async (count: number) => {
    const json = await server.heapSnapshot();
    if (values.keep) {
      const file = `${BENCH_DIR}/results/heap-${kind}-${count}.heapsnapshot`;
      await writeFile(file, json);
      log(`  wrote ${file}`);
    }
    return json;
  };
  await open();
  log(`- ${kind}: snapshot with ${sockets} idle sockets`);
  const first = totalsOf(await snapshot(sockets));
  await open();
  log(`- ${kind}: snapshot with ${2 * sockets} idle sockets`);
  const second = totalsOf(await snapshot(2 * sockets));
  const rows = growth(first, second, sockets);
  const total = rows.reduce((sum, row) => sum + row.bytes, 0);
  console.log(
    `${kind}: ${(total / 1024).toFixed(2)} KB of JavaScript heap per idle socket (snapshots at ${sockets} and ${2 * sockets})`,
  );
  console.log('| kind of object | per socket | bytes per socket |\n|---|---|---|');
  for (const row of rows.slice(0, top))
    console.log(`| ${row.key} | ${row.count.toFixed(2)} | ${row.bytes.toFixed(0)} |`);
} finally {
  await pool.close();
  await server.stop();
}
process.exit(0);
