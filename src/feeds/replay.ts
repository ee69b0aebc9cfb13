import { DateTime } from 'luxon';
import { defer, from, type Observable, type SchedulerLike, Subject, switchMap } from 'rxjs';
import type { FeedConfig } from '../config/schema.js';
import type { ReplayAck, ReplayCommand, ReplayStatus, SymbolInfo } from '../protocol.js';
import type { RecordedQuote } from '../record/format.js';
import { type PaceState, pace } from '../record/pace.js';
import { loadRecording, type Recording, readHeaderSync } from '../record/reader.js';
import type { FeedSource, ReplayControl } from './types.js';

export type ReplayFeedConfig = Extract<FeedConfig, { type: 'replay' }>;
export type ReplayFeedSource = Omit<FeedSource, 'quotes$'> & {
  quotes$: Observable<RecordedQuote>;
  control: ReplayControl;
};

/**
 * A replay bound: "HH:MM" (or "HH:MM:SS") on the recording's day in `zone`, or a full ISO date-time
 * (its own offset, else `zone`). Throws naming `field` when it is neither.
 */
export function resolveReplayTime(text: string, zone: string, recordingStart: number, field = 'time'): number {
  const clock = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(text.trim());
  const base = DateTime.fromMillis(recordingStart, { zone });
  if (!base.isValid) throw new Error(`replay zone "${zone}" is not a known time zone`);
  const at = clock
    ? base.set({ hour: Number(clock[1]), minute: Number(clock[2]), second: Number(clock[3] ?? 0), millisecond: 0 })
    : DateTime.fromISO(text.trim(), { zone });
  if (!at.isValid || (clock && (Number(clock[1]) > 23 || Number(clock[2]) > 59))) {
    throw new Error(`replay ${field} "${text}": expected HH:MM on the recording's day or an ISO date-time`);
  }
  return at.toMillis();
}

/** Pacing times: receive times, never decreasing (a clock step back during recording must not stall it). */
export function replayTimes(records: readonly RecordedQuote[]): number[] {
  const times = new Array<number>(records.length);
  let max = 0;
  for (let i = 0; i < records.length; i++) {
    max = Math.max(max, (records[i] as RecordedQuote).recvTs);
    times[i] = max;
  }
  return times;
}

/** Each symbol's last record among records[0, index), in recorded order: the market's state at that point. */
export function lastValuesBefore(records: readonly RecordedQuote[], index: number): RecordedQuote[] {
  const last = new Map<string, number>();
  for (let i = 0; i < index; i++) last.set((records[i] as RecordedQuote).symbol, i);
  return [...last.values()].sort((a, b) => a - b).map((i) => records[i] as RecordedQuote);
}

/**
 * A recorded session as a feed, paced by receive time (scaled by speed), with pause/resume/speed/seek
 * through its `control`. Quotes keep their recorded `ts`, so charts show the recorded session's times.
 */
export function replayFeed(
  config: ReplayFeedConfig,
  recording: Recording | (() => Promise<Recording>),
  options: { scheduler?: SchedulerLike; symbols?: SymbolInfo[] } = {},
): ReplayFeedSource {
  const load = typeof recording === 'function' ? recording : async () => recording;
  const symbols = options.symbols ?? (typeof recording === 'function' ? [] : (recording.header?.symbols ?? []));
  const commands$ = new Subject<ReplayCommand>();
  // A seek restates the market at another moment: announced before the restated quotes (FeedSource's contract).
  const jumps$ = new Subject<void>();
  let state: PaceState = { speed: config.speed, paused: false, position: 0, ended: false };
  /** The range played, for status (the whole recording unless from/to limit it). */
  let range: { from?: number; to?: number } = {};
  let running = false;

  const status = (): ReplayStatus => {
    const position = Math.round(state.position);
    const out: ReplayStatus = { speed: state.speed, paused: state.paused, position, loop: config.loop };
    if (range.from !== undefined) out.from = range.from;
    if (range.to !== undefined) out.to = range.to;
    if (state.ended) out.ended = true;
    return out;
  };

  const quotes$: Observable<RecordedQuote> = defer(() => from(load())).pipe(
    switchMap((loaded) => {
      const times = replayTimes(loaded.records);
      const start = times[0] ?? 0;
      const limits = {
        from: config.from === undefined ? undefined : resolveReplayTime(config.from, config.zone, start, 'from'),
        to: config.to === undefined ? undefined : resolveReplayTime(config.to, config.zone, start, 'to'),
      };
      if (limits.from !== undefined && limits.to !== undefined && limits.to < limits.from) {
        throw new Error(`replay to (${config.to}) is before from (${config.from})`);
      }
      if (times.length) range = { from: limits.from ?? start, to: limits.to ?? times.at(-1) };
      state = { ...state, position: range.from ?? 0 };
      running = true;
      return pace(loaded.records, commands$, {
        times,
        speed: config.speed,
        maxGapMs: config.maxGapMs,
        loop: config.loop,
        from: limits.from,
        to: limits.to,
        stateBefore: (index) => lastValuesBefore(loaded.records, index),
        onState: (next) => {
          state = next;
        },
        scheduler: options.scheduler,
      });
    }),
  );

  return {
    id: config.id,
    symbols,
    replay: true,
    quotes$,
    discontinuities$: jumps$.asObservable(),
    control: {
      status,
      command(command: ReplayCommand): ReplayAck {
        if (!running) return { ok: false, error: { code: 'BAD_REQUEST', message: 'the recording is still loading' } };
        if (command.action === 'seek') jumps$.next();
        commands$.next(command);
        return { ok: true, replay: status() };
      },
    },
  };
}

/** The replay feed the config names: the file loads when the feed starts; its header gives the symbols. */
export function replayFeedFromConfig(config: ReplayFeedConfig, scheduler?: SchedulerLike): FeedSource {
  let header: ReturnType<typeof readHeaderSync>;
  try {
    header = readHeaderSync(config.file);
  } catch (err) {
    throw new Error(`replay feed "${config.id}": cannot read ${config.file}: ${(err as Error).message}`);
  }
  return replayFeed(config, () => loadRecording(config.file), { scheduler, symbols: header?.symbols ?? [] });
}
