/**
 * `node --import tsx bench/replayPacing.ts [FILE] [--speed 10] [--records 20000]`: how closely the replay
 * feed keeps the recorded pacing. Plays FILE (default the demo session) at the speed and measures each
 * record's lateness against its due time (subscription time + recorded offset / speed, gaps capped by
 * maxGapMs as the feed does). It runs the pacing operator (src/record/pace.ts) directly, so the clock starts at
 * its subscription, not after the feed has prepared the recording. Prints percentiles in milliseconds.
 */
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { NEVER, take } from 'rxjs';
import { exitOnHelp, HELP_FLAG, parseFlags } from '../scripts/flags.js';
import { PROJECT_ROOT } from '../src/config/load.js';
import { replayTimes } from '../src/feeds/replay.js';
import { pace } from '../src/record/pace.js';
import { loadRecording } from '../src/record/reader.js';

const HELP = `node --import tsx bench/replayPacing.ts [FILE] [options]: how closely a replay keeps the recorded pacing

FILE is a recording (default demo/session.ndjson.gz).
Options:
  --speed S     replay speed (default 10)
  --records N   records to play (default 20000)
  -h, --help    this text`;
const { values, positionals } = parseFlags('replayPacing', HELP, () =>
  parseArgs({
    allowPositionals: true,
    options: {
      speed: { type: 'string', default: '10' },
      records: { type: 'string', default: '20000' },
      help: HELP_FLAG,
    },
  }),
);
exitOnHelp(HELP, values);
const file = positionals[0] ?? resolve(PROJECT_ROOT, 'demo/session.ndjson.gz');
const speed = Number(values.speed);
const maxGapMs = 5000;
const recording = await loadRecording(file);
const n = Math.min(Number(values.records), recording.records.length);
const times = replayTimes(recording.records);

// Due offsets (wall ms from the start) as the feed computes them: gaps capped, then scaled.
const due = new Array<number>(n);
due[0] = 0;
for (let i = 1; i < n; i++) {
  due[i] = (due[i - 1] as number) + Math.min(maxGapMs, (times[i] as number) - (times[i - 1] as number)) / speed;
}

const lateness: number[] = [];
// The pacing operator as the replay feed runs it; its schedule starts when it is subscribed.
const started = performance.now();
let first = 0;
await new Promise<void>((done) => {
  let i = 0;
  pace(recording.records, NEVER, { times, speed, maxGapMs })
    .pipe(take(n))
    .subscribe({
      next: () => {
        const now = performance.now();
        if (i === 0) first = now;
        lateness.push(now - started - (due[i++] as number));
      },
      complete: done,
    });
});
const wall = performance.now() - started;
lateness.sort((a, b) => a - b);
const at = (p: number) => (lateness[Math.min(n - 1, Math.floor(p * n))] as number).toFixed(2);
console.log(
  `${file}: ${n} records at ${speed}x in ${(wall / 1000).toFixed(1)} s (expected ${((due[n - 1] as number) / 1000).toFixed(1)} s)\n` +
    `first record ${(first - started).toFixed(2)} ms after the start; load average ${loadavg()[0]?.toFixed(2)} on ${cpus().length} cores\n` +
    `lateness ms: min ${at(0)}  p50 ${at(0.5)}  p90 ${at(0.9)}  p99 ${at(0.99)}  p99.9 ${at(0.999)}  max ${at(1)}`,
);
