import { accessSync, constants, statSync } from 'node:fs';
import type { ParseArgsConfig } from 'node:util';
import { DateTime } from 'luxon';
import { tap } from 'rxjs';
import { ConfigError, invalidConfig, parseConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { messageOf } from '../errorMessage.js';
import { type ReplayFeedConfig, replayFeed, replayFiles, replayLimits } from '../feeds/replay.js';
import { createLogger } from '../log.js';
import type { ReplayStatus } from '../protocol.js';
import { RecordingError } from '../record/reader.js';
import { openRecordings, type ReplayTape } from '../record/recordingTape.js';
import { startServe } from '../roles/serve.js';
import { CONFIG_FLAGS, CONFIG_FLAGS_HELP, configFromFlags, parseCommandArgs } from './args.js';
import { REPLAY_NODE_FLAGS } from './nodeFlags.js';
import { formatSpeed, type ProgressSample, startProgress } from './progress.js';
import { relaunchWith, shouldRelaunch, stopWithParent } from './relaunch.js';
import { untilSignal } from './signals.js';
import { ensureDashboardBuilt } from './webBuild.js';

export const REPLAY_HELP = `tickstream replay: serve recordings over the normal service (same protocol, same dashboard)

Usage: tickstream replay FILE [FILE...] [--speed 10] [--loop] [--from 14:30 --to 15:00 --zone America/New_York] [options]

Several files are played as one, merged by time (a rotated recording, one file per symbol or feed).

Options:
  --speed S            0.5 to 50 times the recorded pace, or max (default 1)
  --loop               start again at the end
  --from T, --to T     play only this part: HH:MM on the recording's day, or an ISO date-time
  --zone Z             time zone of --from/--to (default America/New_York)
  --max-gap MS         recorded silences longer than this are cut to it (default 5000)
  --progress           show progress on stderr even when it is not a terminal
${CONFIG_FLAGS_HELP}

It runs with a small V8 young generation for steady pacing (starting itself again with it if need be).
Replay reads as it plays, with the index FILE.idx (written by the recorder, or by \`tickstream index FILE\`);
a file without one is indexed first, once. Quotes keep their recorded time in \`ts\`, so charts show the
recorded session. Admin clients control the replay with the \`replay\` event (pause, resume, speed, seek);
status.replay shows where it is.`;

function parseSpeed(text: string | undefined): number | 'max' {
  if (text === undefined) return 1;
  if (text === 'max') return 'max';
  const speed = Number(text.replace(/x$/i, ''));
  if (!Number.isFinite(speed)) throw new ConfigError(`--speed ${text}: expected a number from 0.5 to 50, or max`);
  return speed;
}

/** Opens the recordings, indexing those without a current index, with a progress line for each. */
async function openWithProgress(files: string[], progressFlag: boolean | undefined): Promise<ReplayTape> {
  let indexing: { file: string; size: number; read: number; records: number } | undefined;
  let progress: { stop(): void } | undefined;
  try {
    return await openRecordings(files, {
      onIndexing: (file, reason) => {
        progress?.stop();
        console.error(`tickstream: indexing ${file} (${reason}); once, the index is kept as ${file}.idx`);
        const current = { file, size: statSync(file).size, read: 0, records: 0 };
        indexing = current;
        progress = startProgress(
          () => ({
            count: current.records,
            done: current.size ? current.read / current.size : undefined,
            note: `${(current.read / 2 ** 20).toFixed(0)} MiB read`,
          }),
          { label: 'indexing', enabled: progressFlag },
        );
      },
      onIndexProgress: (file, readBytes, records) => {
        if (indexing?.file !== file) return;
        indexing.read = readBytes;
        indexing.records = records;
      },
      onNote: (message) => console.error(`tickstream: ${message}`),
    });
  } finally {
    progress?.stop();
  }
}

const REPLAY_FLAGS = {
  ...CONFIG_FLAGS,
  speed: { type: 'string', short: 's' },
  loop: { type: 'boolean' },
  from: { type: 'string' },
  to: { type: 'string' },
  zone: { type: 'string' },
  'max-gap': { type: 'string' },
  progress: { type: 'boolean' },
} as const satisfies ParseArgsConfig['options'];

type ReplayFlagValues = ReturnType<typeof parseCommandArgs<typeof REPLAY_FLAGS>>['values'];

export async function replayCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, REPLAY_FLAGS);
  if (values.help) {
    console.log(REPLAY_HELP);
    return 0;
  }
  // Pacing wants a small young generation (nodeFlags.ts): started without it, run again with it.
  if (shouldRelaunch(REPLAY_NODE_FLAGS)) return relaunchWith(REPLAY_NODE_FLAGS);
  stopWithParent();
  if (positionals.length === 0) throw new ConfigError('replay: expected FILE (a recording), or several');
  const { config, feedConfig } = replayConfig(values, positionals);
  const files = replayFiles(feedConfig);
  // Before anything says it is indexing or opening them.
  for (const file of files) {
    try {
      accessSync(file, constants.R_OK);
    } catch (err) {
      throw new ConfigError(`replay: cannot read ${file}: ${messageOf(err)}`);
    }
  }
  const logger = createLogger(config.log.level);

  let tape: ReplayTape;
  try {
    tape = await openWithProgress(files, values.progress || undefined);
  } catch (err) {
    if (err instanceof RecordingError) {
      console.error(`tickstream replay: ${err.message} (see tickstream verify ${err.file})`);
      return 1;
    }
    throw new ConfigError(`replay: cannot read ${files.join(', ')}: ${messageOf(err)}`);
  }
  if (tape.records === 0) throw new ConfigError(`replay: ${files.join(', ')} holds no records`);
  await checkBounds(feedConfig, tape);

  const source = replayFeed(feedConfig, tape);
  const counter = { replayed: 0 };
  const counted = { ...source, quotes$: source.quotes$.pipe(tap(() => counter.replayed++)) };
  const webRoot = config.server.dashboard ? await ensureDashboardBuilt(logger) : undefined;
  const service = await startServe({ config, logger, webRoot, feeds: [counted] });
  const what = files.length === 1 ? files[0] : `${files.length} files merged by time`;
  console.error(
    `tickstream: replaying ${what} (${tape.records} records) at ${formatSpeed(feedConfig.speed)} on ${service.url}` +
      ` (dashboard ${webRoot ? service.url : 'off'}); Ctrl-C stops`,
  );
  const progress = startProgress(() => replayProgress(source.control.status(), tape, feedConfig, counter.replayed), {
    label: 'replay',
    enabled: values.progress || undefined,
    zone: config.market.zone,
  });
  const signal = await untilSignal();
  progress.stop();
  logger.info({ signal }, 'shutting down');
  await service.close();
  return 0;
}

/** The config with the recording as its one feed; the schema checks the flags (speed range, zone...). */
function replayConfig(values: ReplayFlagValues, files: string[]): { config: Config; feedConfig: ReplayFeedConfig } {
  const base = configFromFlags(values);
  // The recording replaces the configured feeds.
  const config = withFlagNames(() =>
    parseConfig({
      ...base,
      feeds: [
        {
          type: 'replay',
          id: 'replay',
          file: files.length === 1 ? files[0] : files,
          speed: parseSpeed(values.speed),
          loop: values.loop ?? false,
          ...(values.from !== undefined ? { from: values.from } : {}),
          ...(values.to !== undefined ? { to: values.to } : {}),
          ...(values.zone !== undefined ? { zone: values.zone } : {}),
          ...(values['max-gap'] !== undefined ? { maxGapMs: Number(values['max-gap']) } : {}),
        },
      ],
    }),
  );
  const feedConfig = config.feeds[0];
  if (feedConfig?.type !== 'replay') throw new Error('unreachable: the replay feed config');
  return { config, feedConfig };
}

/** The replay feed's fields, as the flags that set them: an error names what the user typed. */
const FEED_FLAGS: Readonly<Record<string, string>> = {
  file: 'FILE',
  speed: '--speed',
  loop: '--loop',
  from: '--from',
  to: '--to',
  zone: '--zone',
  maxGapMs: '--max-gap',
};

/** `parse()`, with the replay feed's field in each issue named by its flag (`--speed: ...`, not `feeds.0.speed: ...`). */
function withFlagNames<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (!(err instanceof ConfigError) || err.issues.length === 0) throw err;
    throw invalidConfig(
      err.issues.map((issue) => {
        const field = /^feeds\.0\.(\w+):/.exec(issue);
        const flag = field && FEED_FLAGS[field[1] as string];
        return flag ? `${flag}${issue.slice(field[0].length - 1)}` : issue;
      }),
    );
  }
}

/**
 * Checked before the server starts: a bad --from/--to fails naming the flag, and so does a range that holds
 * no record (a demo that would start on a silent, already ended replay).
 */
async function checkBounds(feedConfig: ReplayFeedConfig, tape: ReplayTape): Promise<void> {
  const { zone } = feedConfig;
  let limits: { from?: number; to?: number };
  try {
    limits = replayLimits(feedConfig, tape.first, { from: '--from', to: '--to' });
  } catch (err) {
    throw new ConfigError(messageOf(err));
  }
  const { from, to } = limits;
  if (from === undefined && to === undefined) return;
  const { cursor } = await tape.seek(from ?? tape.first, false);
  const batch = await cursor.next();
  cursor.close();
  const next = batch?.times[0];
  if (next !== undefined && (to === undefined || next <= to)) return;
  const at = (ms: number) => DateTime.fromMillis(ms, { zone }).toFormat('HH:mm:ss');
  const { from: fromText, to: toText } = feedConfig;
  const range =
    fromText && toText
      ? `between --from ${fromText} and --to ${toText}`
      : fromText
        ? `after --from ${fromText}`
        : `before --to ${toText}`;
  const after = fromText && next !== undefined ? `; the first record after --from is at ${at(next)}` : '';
  throw new ConfigError(
    `replay: no records ${range} (${zone}): the recording runs ${at(tape.first)} to ${at(tape.last)}${after}`,
  );
}

/** The progress line: records out, the head's position in the range, and at a set speed the time left. */
function replayProgress(
  status: ReplayStatus,
  tape: ReplayTape,
  feedConfig: ReplayFeedConfig,
  replayed: number,
): ProgressSample {
  const from = status.from ?? tape.first;
  const to = status.to ?? tape.last;
  const left = Math.max(0, to - status.position);
  return {
    count: replayed,
    position: status.position || undefined,
    done: feedConfig.loop || to <= from ? undefined : (status.position - from) / (to - from),
    // At a set speed the recorded time left says it (an upper bound: long silences are cut).
    etaMs: feedConfig.loop || status.paused || status.speed === 'max' ? undefined : left / status.speed,
    note: `${formatSpeed(status.speed)}${status.paused ? ' paused' : ''}${status.ended ? ' ended' : ''}`,
    finished: status.ended === true,
  };
}
