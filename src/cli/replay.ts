import { tap } from 'rxjs';
import { ConfigError, parseConfig } from '../config/load.js';
import { replayFeed, resolveReplayTime } from '../feeds/replay.js';
import { createLogger } from '../log.js';
import { loadRecording, type Recording, RecordingError } from '../record/reader.js';
import { startServe } from '../roles/serve.js';
import { CONFIG_FLAGS, CONFIG_FLAGS_HELP, configFromFlags, parseCommandArgs } from './args.js';
import { startProgress } from './progress.js';
import { untilSignal } from './signals.js';
import { ensureDashboardBuilt } from './webBuild.js';

export const REPLAY_HELP = `tickstream replay: serve a recording over the normal service (same protocol, same dashboard)

Usage: tickstream replay FILE [--speed 10] [--loop] [--from 14:30 --to 15:00 --zone America/New_York] [options]

Options:
  --speed S            0.5 to 50 times the recorded pace, or max (default 1)
  --loop               start again at the end
  --from T, --to T     play only this part: HH:MM on the recording's day, or an ISO date-time
  --zone Z             time zone of --from/--to (default America/New_York)
  --max-gap MS         recorded silences longer than this are cut to it (default 5000)
  --progress           show progress on stderr even when it is not a terminal
${CONFIG_FLAGS_HELP}

Quotes keep their recorded time in \`ts\`, so charts show the recorded session. Admin clients control the
replay with the \`replay\` event (pause, resume, speed, seek); status.replay shows where it is.`;

function parseSpeed(text: string | undefined): number | 'max' {
  if (text === undefined) return 1;
  if (text === 'max') return 'max';
  const speed = Number(text.replace(/x$/i, ''));
  if (!Number.isFinite(speed)) throw new ConfigError(`--speed ${text}: expected a number from 0.5 to 50, or max`);
  return speed;
}

export async function replayCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    ...CONFIG_FLAGS,
    speed: { type: 'string', short: 's' },
    loop: { type: 'boolean' },
    from: { type: 'string' },
    to: { type: 'string' },
    zone: { type: 'string' },
    'max-gap': { type: 'string' },
    progress: { type: 'boolean' },
  });
  if (values.help) {
    console.log(REPLAY_HELP);
    return 0;
  }
  const file = positionals[0];
  if (!file || positionals.length > 1) throw new ConfigError('replay: expected one FILE (a recording)');
  const base = configFromFlags(values);
  // The recording replaces the configured feeds; the schema checks the flags (speed range, zone...).
  const config = parseConfig({
    ...base,
    feeds: [
      {
        type: 'replay',
        id: 'replay',
        file,
        speed: parseSpeed(values.speed),
        loop: values.loop ?? false,
        ...(values.from !== undefined ? { from: values.from } : {}),
        ...(values.to !== undefined ? { to: values.to } : {}),
        ...(values.zone !== undefined ? { zone: values.zone } : {}),
        ...(values['max-gap'] !== undefined ? { maxGapMs: Number(values['max-gap']) } : {}),
      },
    ],
  });
  const feedConfig = config.feeds[0];
  if (feedConfig?.type !== 'replay') throw new Error('unreachable: the replay feed config');
  const logger = createLogger(config.log.level);

  let recording: Recording;
  try {
    recording = await loadRecording(file);
  } catch (err) {
    if (err instanceof RecordingError) {
      console.error(`tickstream replay: ${err.message} (see tickstream verify ${file})`);
      return 1;
    }
    throw new ConfigError(`replay: cannot read ${file}: ${(err as Error).message}`);
  }
  const first = recording.records[0]?.recvTs;
  const last = recording.records.at(-1)?.recvTs;
  if (first === undefined || last === undefined) throw new ConfigError(`replay: ${file} holds no records`);
  try {
    // Checked here so a bad --from/--to fails before the server starts, naming the flag.
    if (feedConfig.from) resolveReplayTime(feedConfig.from, feedConfig.zone, first, '--from');
    if (feedConfig.to) resolveReplayTime(feedConfig.to, feedConfig.zone, first, '--to');
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  if (recording.torn) logger.warn({ line: recording.torn.line }, 'the recording ends with a torn line: ignored');

  const source = replayFeed(feedConfig, recording);
  let replayed = 0;
  const counted = { ...source, quotes$: source.quotes$.pipe(tap(() => replayed++)) };
  const webRoot = config.server.dashboard ? await ensureDashboardBuilt(logger) : undefined;
  const service = await startServe({ config, logger, webRoot, feeds: [counted] });
  console.error(
    `tickstream: replaying ${file} (${recording.records.length} records) at ${feedConfig.speed}x on ${service.url}` +
      ` (dashboard ${webRoot ? service.url : 'off'}); Ctrl-C stops`,
  );
  const progress = startProgress(
    () => {
      const status = source.control.status();
      return {
        count: replayed,
        position: status.position || undefined,
        // By records, not recorded time: idle gaps are skipped, so time would overstate what is left.
        done: feedConfig.loop ? undefined : replayed / recording.records.length,
        note: `${status.speed}x${status.paused ? ' paused' : ''}${status.ended ? ' ended' : ''}`,
      };
    },
    { label: 'replay', enabled: values.progress || undefined, zone: config.market.zone },
  );
  const signal = await untilSignal();
  progress.stop();
  logger.info({ signal }, 'shutting down');
  await service.close();
  return 0;
}
