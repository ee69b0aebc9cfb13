import { DateTime } from 'luxon';
import { defer, finalize, from, type Observable, type SchedulerLike, Subject, switchMap } from 'rxjs';
import type { FeedConfig } from '../config/schema.js';
import { messageOf } from '../errorMessage.js';
import {
  type Bar,
  errorAck,
  type ReplayAck,
  type ReplayCommand,
  type ReplayStatus,
  type SymbolInfo,
} from '../protocol.js';
import type { RecordedQuote } from '../record/format.js';
import { monotonicScheduler } from '../record/monotonicScheduler.js';
import { type PaceState, pace } from '../record/pace.js';
import { readHeaderSync } from '../record/reader.js';
import { openRecordings, type ReplaySeek, type ReplayTape } from '../record/recordingTape.js';
import type { FeedSource, ReplayControl } from './types.js';

export type ReplayFeedConfig = Extract<FeedConfig, { type: 'replay' }>;
export type ReplayFeedSource = Omit<FeedSource, 'quotes$'> & {
  quotes$: Observable<RecordedQuote>;
  control: ReplayControl;
  discontinuities$: Observable<void>;
  history: (symbol: string) => Bar[];
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

/**
 * A recorded session as a feed, paced by receive time (scaled by speed), with pause/resume/speed/seek
 * through its `control`. Quotes keep their recorded `ts`, so charts show the recorded session's times. It
 * reads the recordings as it plays (see src/record/recordingTape.ts), announces every seek and loop on
 * `discontinuities$` before the restated quotes that follow it, and its `history` is the recording's
 * 1-minute bars up to where it last jumped (or started).
 */
export function replayFeed(
  config: ReplayFeedConfig,
  tape: ReplayTape | (() => Promise<ReplayTape>),
  options: { scheduler?: SchedulerLike; symbols?: SymbolInfo[] } = {},
): ReplayFeedSource {
  const open = typeof tape === 'function' ? tape : async () => tape;
  const symbols = options.symbols ?? (typeof tape === 'function' ? [] : [...tape.symbols]);
  const commands$ = new Subject<ReplayCommand>();
  // Announced from inside the pacing operator as each jump takes effect; the pipeline and the chart history listen.
  const discontinuities$ = new Subject<void>();
  const head = new ReplayHead(config);
  let barsAt: ((symbol: string) => Bar[]) | undefined;

  const quotes$: Observable<RecordedQuote> = defer(() => from(open())).pipe(
    switchMap((loaded) => {
      const limits = replayLimits(config, loaded.first);
      head.play(
        loaded.records > 0
          ? {
              from: Math.max(loaded.first, limits.from ?? loaded.first),
              to: Math.min(loaded.last, limits.to ?? loaded.last),
            }
          : undefined,
      );
      return pace<RecordedQuote, ReplaySeek>(loaded, commands$, {
        speed: config.speed,
        maxGapMs: config.maxGapMs,
        loop: config.loop,
        from: limits.from,
        to: limits.to,
        onState: (next) => head.moved(next),
        onSeek: (seek, jump) => {
          barsAt = seek.bars;
          if (jump) discontinuities$.next();
        },
        scheduler: options.scheduler ?? monotonicScheduler,
      });
    }),
    finalize(() => head.stop()),
  );

  return {
    id: config.id,
    symbols,
    replay: true,
    quotes$,
    discontinuities$: discontinuities$.asObservable(),
    history: (symbol) => barsAt?.(symbol) ?? [],
    control: {
      status: () => head.status(),
      command(command: ReplayCommand): ReplayAck | Promise<ReplayAck> {
        if (!head.running) return errorAck('BAD_REQUEST', 'the recording is still loading');
        const after = head.jumps;
        commands$.next(command);
        if (command.action !== 'seek' || head.jumps > after) return { ok: true, replay: head.status() };
        // The seek reads from the file: acknowledged once its state has gone out.
        return head.landed(after);
      },
    },
  };
}

/**
 * The config's `from` and `to` on the recording's time line (it starts at `first`); throws when either is
 * unknown or `to` is not after `from` (an empty range plays nothing). `names` are what the messages call them:
 * the config's fields, or the CLI's flags.
 */
export function replayLimits(
  config: Pick<ReplayFeedConfig, 'from' | 'to' | 'zone'>,
  first: number,
  names: { from: string; to: string } = { from: 'from', to: 'to' },
): { from?: number; to?: number } {
  const limits = {
    from: config.from === undefined ? undefined : resolveReplayTime(config.from, config.zone, first, names.from),
    to: config.to === undefined ? undefined : resolveReplayTime(config.to, config.zone, first, names.to),
  };
  if (limits.from !== undefined && limits.to !== undefined && limits.to <= limits.from) {
    throw new Error(`replay: ${names.to} ${config.to} is not after ${names.from} ${config.from} (${config.zone})`);
  }
  return limits;
}

/** Where a replay is (the pacer's last state, the range it plays) and the seek acks waiting for their seek. */
class ReplayHead {
  /** Whether the recording is open and playing: commands are taken only then. */
  running = false;
  private state: PaceState;
  /** The range played, for status (the whole recording unless from/to limit it). */
  private range: { from?: number; to?: number } = {};
  /** Seek acks waiting for their seek (or a later one) to land. */
  private readonly landing: { after: number; resolve: (ack: ReplayAck) => void }[] = [];

  constructor(private readonly config: ReplayFeedConfig) {
    this.state = { speed: config.speed, paused: false, position: 0, ended: false, jumps: 0 };
  }

  get jumps(): number {
    return this.state.jumps;
  }

  /** Playing starts over `range` (kept from before for an empty recording), at its start. */
  play(range: { from: number; to: number } | undefined): void {
    if (range) this.range = range;
    this.state = { ...this.state, position: this.range.from ?? 0 };
    this.running = true;
  }

  moved(state: PaceState): void {
    this.state = state;
    this.land();
  }

  /** The ack of a seek issued after `after` jumps, once it (or a later one) has landed. */
  landed(after: number): Promise<ReplayAck> {
    return new Promise((resolve) => this.landing.push({ after, resolve }));
  }

  stop(): void {
    this.running = false;
    for (const waiting of this.landing.splice(0)) waiting.resolve(errorAck('BAD_REQUEST', 'the replay stopped'));
  }

  status(): ReplayStatus {
    const { state, range } = this;
    const out: ReplayStatus = {
      speed: state.speed,
      paused: state.paused,
      position: Math.round(state.position),
      loop: this.config.loop,
      jumps: state.jumps,
    };
    if (range.from !== undefined) out.from = range.from;
    if (range.to !== undefined) out.to = range.to;
    if (state.ended) out.ended = true;
    return out;
  }

  private land(): void {
    const { landing } = this;
    for (let i = landing.length - 1; i >= 0; i--) {
      const waiting = landing[i];
      if (waiting && this.state.jumps > waiting.after) {
        landing.splice(i, 1);
        waiting.resolve({ ok: true, replay: this.status() });
      }
    }
  }
}

/** The files a replay feed plays (one, or several merged by time). */
export function replayFiles(config: ReplayFeedConfig): string[] {
  return Array.isArray(config.file) ? config.file : [config.file];
}

/** The replay feed the config names: the files open (and are indexed if need be) when the feed starts. */
export function replayFeedFromConfig(config: ReplayFeedConfig, scheduler?: SchedulerLike): FeedSource {
  const files = replayFiles(config);
  const symbols: SymbolInfo[] = [];
  for (const file of files) {
    try {
      symbols.push(...(readHeaderSync(file)?.symbols ?? []));
    } catch (err) {
      throw new Error(`replay feed "${config.id}": cannot read ${file}: ${messageOf(err)}`);
    }
  }
  return replayFeed(config, () => openRecordings(files), { scheduler, symbols });
}
