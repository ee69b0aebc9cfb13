import { Subscription } from 'rxjs';
import { ConfigError } from '../config/load.js';
import { messageOf } from '../errorMessage.js';
import { IngestPart } from '../ingest/ingestPart.js';
import { createLogger } from '../log.js';
import { Metrics } from '../metrics.js';
import { recordTo } from '../record/recordTo.js';
import { RecordingWriter } from '../record/writer.js';
import { configFromFlags, parseCommandArgs, SETTINGS_FLAGS, SETTINGS_FLAGS_HELP } from './args.js';
import { DURATION_FORMS, parseDuration } from './duration.js';
import { startProgress } from './progress.js';
import { untilSignal } from './signals.js';

export const RECORD_HELP = `tickstream record: record the configured feeds to a file (without serving clients)

Usage: tickstream record --out FILE [--duration 10m] [options]

Options:
  --out FILE           the recording: .ndjson, or .ndjson.gz for gzip (format in docs/PROTOCOL.md)
  --duration D         stop after D: ${DURATION_FORMS}; default until Ctrl-C
  --rotate-bytes N     start a new file (FILE.1.ndjson.gz...) once this many bytes are written
  --rotate-minutes N   start a new file every N minutes
  --progress           show progress on stderr even when it is not a terminal
${SETTINGS_FLAGS_HELP}

By default it records the embedded simulator. Lines reach the file at least every 200 ms; a crash loses at
most that, and leaves a file that \`tickstream verify\` accepts and \`tickstream replay\` plays.`;

function positiveNumber(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new ConfigError(`--${flag} ${text}: expected a positive number`);
  return value;
}

export async function recordCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    ...SETTINGS_FLAGS,
    out: { type: 'string', short: 'o' },
    duration: { type: 'string', short: 'd' },
    'rotate-bytes': { type: 'string' },
    'rotate-minutes': { type: 'string' },
    progress: { type: 'boolean' },
  });
  if (values.help) {
    console.log(RECORD_HELP);
    return 0;
  }
  const out = values.out;
  if (!out) throw new ConfigError('record: --out FILE is required');
  const durationMs = values.duration === undefined ? undefined : parseDuration(values.duration);
  if (values.duration !== undefined && durationMs === undefined)
    throw new ConfigError(`--duration "${values.duration}": expected a duration: ${DURATION_FORMS}`);
  const rotate = {
    maxBytes: positiveNumber('rotate-bytes', values['rotate-bytes']),
    maxMinutes: positiveNumber('rotate-minutes', values['rotate-minutes']),
  };
  const config = configFromFlags(values);
  const logger = createLogger(config.log.level);

  const metrics = new Metrics();
  // The ingest part a serving role runs (checks, day statistics, merging by priority, a new epoch on a jump,
  // the feeds' logging), with the recording made here, where its progress and a failed write are reported.
  const part = new IngestPart({ config: { ...config, record: { ...config.record, enabled: false } }, metrics, logger });
  const { feeds } = part;
  const symbols = feeds.flatMap((feed) => feed.symbols);
  const writer = new RecordingWriter({ out, rotate, sources: feeds.map((feed) => feed.id), symbols });
  const started = Date.now();
  let position: number | undefined;
  const subscription = new Subscription();
  let writeFailed: (err: unknown) => void = () => {};
  const failure = new Promise<{ failed: unknown }>((resolve) => {
    writeFailed = (failed) => resolve({ failed });
  });
  subscription.add(
    part.quotes$.pipe(recordTo(writer)).subscribe({
      next: (quote) => {
        position = quote.ts;
      },
      error: writeFailed,
    }),
  );
  // Every declared symbol is demanded: a vendor feed that subscribes to what is watched records them all.
  for (const { symbol } of symbols) subscription.add(part.quotes(symbol).subscribe());
  subscription.add(part.start());
  const progress = startProgress(
    () => ({
      count: writer.records,
      position,
      done: durationMs ? Math.min(1, (Date.now() - started) / durationMs) : undefined,
      note: `${(writer.bytes / 1024).toFixed(0)} KiB`,
    }),
    { label: 'recording', enabled: values.progress || undefined, zone: config.market.zone },
  );
  console.error(`tickstream: recording ${feeds.map((f) => f.id).join(', ')} to ${out}; Ctrl-C stops`);

  const stopped = await untilStopped(durationMs, failure);
  subscription.unsubscribe();
  metrics.close();
  progress.stop();
  if (typeof stopped === 'object') {
    const why = messageOf(stopped.failed);
    console.error(`record: cannot write ${writer.files.at(-1) ?? out}: ${why}`);
    return 1;
  }
  const stopReason = stopped;
  console.error(
    `tickstream: recorded ${writer.records} records to ${writer.files.join(', ') || out} (${stopReason === 'duration' ? 'duration reached' : stopReason})`,
  );
  return 0;
}

/** The signal that stopped the recording, `duration` once `durationMs` is up, or the write that failed. */
async function untilStopped<F>(
  durationMs: number | undefined,
  failure: Promise<F>,
): Promise<NodeJS.Signals | 'duration' | F> {
  let timer: NodeJS.Timeout | undefined;
  const stopReason = await Promise.race([
    untilSignal(),
    failure,
    new Promise<'duration'>((resolve) => {
      if (durationMs !== undefined) timer = setTimeout(() => resolve('duration'), durationMs);
    }),
  ]);
  if (timer) clearTimeout(timer);
  return stopReason;
}
