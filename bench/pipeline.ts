/**
 * How many ticks per second the pipeline sustains on one core: validate -> seq -> day statistics ->
 * last-value cache -> per-symbol routing into live conflated symbol-tier streams. No sockets.
 *   node --import tsx bench/pipeline.ts [--ticks 2000000] [--symbols 500]
 */
import { parseArgs } from 'node:util';
import { from, Subscription } from 'rxjs';
import { createSimulator } from '../src/feeds/simulated.js';
import { listings } from '../src/feeds/universe.js';
import { ConflatedStreams } from '../src/pipeline/conflatedStreams.js';
import { FeedHealth } from '../src/pipeline/feedHealth.js';
import { LastValueCache } from '../src/pipeline/lastValueCache.js';
import { quotePipeline } from '../src/pipeline/quotePipeline.js';
import { SymbolDirectory } from '../src/pipeline/symbolDirectory.js';

const { values } = parseArgs({
  options: { ticks: { type: 'string', default: '2000000' }, symbols: { type: 'string', default: '500' } },
});
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
  const streams = new ConflatedStreams();
  const subscriptions = new Subscription();
  let published = 0;
  // Every symbol watched at two tiers, as a busy gateway would have it.
  for (const { symbol } of universe) {
    for (const hz of [4, 20]) subscriptions.add(streams.stream(symbol, hz).subscribe(() => published++));
  }
  const quotes$ = quotePipeline([{ id: 'bench', quotes$: from(ticks), symbols: [] }], {
    health: new FeedHealth(5000),
    cache: new LastValueCache(),
    directory: new SymbolDirectory(),
    zone: 'America/New_York',
  });
  const start = process.hrtime.bigint();
  subscriptions.add(streams.connect(quotes$));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  subscriptions.unsubscribe();
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
