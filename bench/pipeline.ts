/**
 * How many ticks per second the ingest part sustains on one core: validate -> epoch and seq -> day
 * statistics -> last-value cache -> chart history -> routing to each watched symbol's stream (what an edge's
 * conflation cells read). No sockets.
 *   node --import tsx bench/pipeline.ts [--ticks 2000000] [--symbols 500]
 */
import { parseArgs } from 'node:util';
import { from, Subscription } from 'rxjs';
import { exitOnHelp, HELP_FLAG, parseFlags } from '../scripts/flags.js';
import { parseConfig } from '../src/config/load.js';
import { createSimulator } from '../src/feeds/simulated.js';
import { listings } from '../src/feeds/universe.js';
import { IngestPart } from '../src/ingest/ingestPart.js';
import { createLogger } from '../src/log.js';
import { Metrics } from '../src/metrics.js';
import type { Quote } from '../src/protocol.js';

const HELP = `npm run bench:pipeline -- [options]: ticks per second the ingest part sustains on one core (no sockets)

Options:
  --ticks N     ticks to push through (default 2000000)
  --symbols N   universe size (default 500)
  -h, --help    this text`;
const { values } = parseFlags('bench:pipeline', HELP, () =>
  parseArgs({
    options: {
      ticks: { type: 'string', default: '2000000' },
      symbols: { type: 'string', default: '500' },
      help: HELP_FLAG,
    },
  }),
);
exitOnHelp(HELP, values);
const total = Number(values.ticks);
const universe = listings(Number(values.symbols));

// Pre-generate the ticks so the simulator's own cost is not measured.
const sim = createSimulator({ seed: 1, listings: universe, ticksPerSecond: 100_000 });
const ticks: unknown[] = [];
let now = Date.now();
while (ticks.length < total) {
  now += 10;
  ticks.push(...sim.step(now, 10));
}
ticks.length = total;

function run(): { seconds: number; published: number } {
  const metrics = new Metrics();
  const ingest = new IngestPart({
    config: parseConfig({ log: { level: 'silent' } }),
    metrics,
    logger: createLogger('silent'),
    feeds: [{ id: 'bench', quotes$: from(ticks), symbols: [] }],
  });
  const subscriptions = new Subscription();
  let published = 0;
  // Every symbol watched, its newest quote kept in a cell as the edge's delivery does.
  const latest = new Map<string, Quote>();
  for (const { symbol } of universe) {
    subscriptions.add(
      ingest.quotes(symbol).subscribe((quote) => {
        latest.set(symbol, quote);
        published++;
      }),
    );
  }
  const start = process.hrtime.bigint();
  subscriptions.add(ingest.start());
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  subscriptions.unsubscribe();
  metrics.close();
  return { seconds, published };
}

run(); // warm-up
const results = [run(), run(), run()];
const rates = results.map((r) => total / r.seconds).sort((a, b) => a - b);
const median = rates[1] as number;
console.log(
  JSON.stringify({
    bench: 'pipeline',
    ticks: total,
    symbols: universe.length,
    ticksPerSecond: Math.round(median),
    runs: rates.map(Math.round),
    node: process.version,
  }),
);
console.log(
  `pipeline: ${Math.round(median).toLocaleString('en-US')} ticks/s on one core (median of 3 runs of ${total.toLocaleString('en-US')} ticks, ${universe.length} symbols)`,
);
