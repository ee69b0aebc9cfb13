/**
 * Generates demo/session.ndjson.gz (`npm run make-demo`): a recorded-looking session from the seeded
 * simulator, stepped in virtual time (no waiting), through the same seq and day-statistics operators as the
 * live pipeline and the same writer as the recorder. Three windows of one past trading day, New York time:
 * the opening burst from 09:30, a midday lull, and the closing ramp into 16:00.
 */
import { parseArgs } from 'node:util';
import { DateTime } from 'luxon';
import { from } from 'rxjs';
import { seededRandom } from '../src/feeds/random.js';
import { createSimulator } from '../src/feeds/simulated.js';
import { listings } from '../src/feeds/universe.js';
import { assignSeq } from '../src/pipeline/assignSeq.js';
import { withDayStats } from '../src/pipeline/withDayStats.js';
import type { RawQuote } from '../src/protocol.js';
import { RecordingWriter } from '../src/record/writer.js';
import { exitOnHelp, HELP_FLAG, parseFlags } from './flags.js';

const ZONE = 'America/New_York';
const DAY = '2026-11-20';
const SEED = 20261120;
const STEP_MS = 100;
/** Ticks per second across all symbols at activity 1. */
const BASE_RATE = 16;
const HELP = `npm run make-demo [-- FILE]: regenerates the demo session (default demo/session.ndjson.gz) from the
seeded simulator, in about a second

Options:
  -h, --help   this text`;
const { values, positionals } = parseFlags('make-demo', HELP, () =>
  parseArgs({ options: { help: HELP_FLAG }, allowPositionals: true }),
);
exitOnHelp(HELP, values);
const OUT = positionals[0] ?? 'demo/session.ndjson.gz';

type Window = { from: string; to: string; activity: (minutesIn: number, length: number) => number };
const WINDOWS: Window[] = [
  // The opening auction prints at once, then a busy first minutes that calm down.
  { from: '09:30', to: '09:42', activity: (m) => 1 + 5 * Math.exp(-m / 2.5) },
  { from: '12:15', to: '12:20', activity: () => 0.2 },
  // Volume builds into the close.
  { from: '15:48', to: '16:00', activity: (m, length) => 0.6 + 2.4 * (m / length) ** 2 },
];

const at = (hhmm: string) => DateTime.fromISO(`${DAY}T${hhmm}`, { zone: ZONE }).toMillis();
const universe = listings();
let activity = 1;
const simulator = createSimulator({
  seed: SEED,
  listings: universe,
  ticksPerSecond: BASE_RATE,
  source: 'sim',
  activityAt: () => activity,
});
const jitter = seededRandom(SEED + 1);

const raws: RawQuote[] = [];
for (const window of WINDOWS) {
  const start = at(window.from);
  const end = at(window.to);
  const length = (end - start) / 60_000;
  for (let now = start; now < end; now += STEP_MS) {
    activity = window.activity((now - start) / 60_000, length);
    const batch = simulator.step(now, STEP_MS);
    // The simulator stamps a step's ticks with its start: spread them over the step like a real feed.
    for (const [k, quote] of batch.entries())
      raws.push({ ...quote, ts: now + Math.floor((k * STEP_MS) / batch.length) });
  }
}

const writer = new RecordingWriter({
  out: OUT,
  sources: ['sim'],
  symbols: universe.map(({ symbol, name, exchange, currency }) => ({ symbol, name, exchange, currency })),
  flushMs: 0,
  now: () => at('09:29'),
});
let recvTs = 0;
from(raws)
  .pipe(
    assignSeq(() => 1),
    withDayStats(ZONE),
  )
  .subscribe({
    // The server receives a quote a few milliseconds after its event time, in order.
    next: (quote) => {
      recvTs = Math.max(recvTs, quote.ts + 2 + Math.floor(jitter.next() * 20));
      writer.write(quote, recvTs);
    },
    complete: () => writer.close(),
  });
console.log(
  `${OUT}: ${writer.records} records, ${WINDOWS.map((w) => `${w.from}-${w.to}`).join(', ')} ${ZONE} on ${DAY}`,
);
