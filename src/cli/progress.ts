import { DateTime } from 'luxon';

/** Where the line goes: stderr, or anything with its shape. */
export type ProgressStream = { isTTY?: boolean; write(text: string): unknown };

/** What a long record or replay run has done so far. */
export type ProgressSample = {
  /** Records written or replayed. */
  count: number;
  /** Recorded time of the head (epoch ms), when there is one. */
  position?: number;
  /** Fraction done (0..1), when the end is known: gives the ETA. */
  done?: number;
  /** Time left, when the caller knows it better than an extrapolation from `done` (a replay at a set speed). */
  etaMs?: number;
  /** Anything else worth a glance (file size, speed...). */
  note?: string;
  /** The run is over (a replay at its end): its line is drawn once, then left alone until this clears. */
  finished?: boolean;
};

export type ProgressOptions = {
  label: string;
  /** Print at all: by default only when stderr is a terminal. */
  enabled?: boolean;
  everyMs?: number;
  /** Zone the position is shown in (the exchange's). */
  zone?: string;
  stream?: ProgressStream;
  now?: () => number;
};

/** `1h02m05s` / `2m05s` / `5s`. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h) return `${h}h${String(m).padStart(2, '0')}m${String(s).padStart(2, '0')}s`;
  if (m) return `${m}m${String(s).padStart(2, '0')}s`;
  return `${s}s`;
}

/** One status line: position, count, rate over the last interval, and ETA when the end is known. */
export function progressLine(
  label: string,
  sample: ProgressSample,
  ratePerSecond: number,
  elapsedMs: number,
  zone = 'UTC',
): string {
  const parts = [label];
  if (sample.position !== undefined) parts.push(DateTime.fromMillis(sample.position, { zone }).toFormat('HH:mm:ss'));
  parts.push(`${sample.count} records`, `${Math.round(ratePerSecond)}/s`);
  if (sample.note) parts.push(sample.note);
  if (sample.finished) return parts.join('  ');
  if (sample.etaMs !== undefined) parts.push(`ETA ${formatDuration(sample.etaMs)}`);
  else if (sample.done !== undefined && sample.done > 0 && sample.done < 1) {
    parts.push(`ETA ${formatDuration((elapsedMs / sample.done) * (1 - sample.done))}`);
  }
  return parts.join('  ');
}

/** A replay speed as people say it: "10x", "0.5x", "max speed". */
export function formatSpeed(speed: number | 'max'): string {
  return speed === 'max' ? 'max speed' : `${speed}x`;
}

/**
 * Redraws a progress line on stderr every `everyMs` from `sample()`, only on a terminal unless enabled
 * explicitly (`--progress`), so logs and pipes stay clean. A finished sample ends the line once (it is not
 * drawn again while the run stays finished); `stop()` ends it if it is still open.
 */
export function startProgress(sample: () => ProgressSample, options: ProgressOptions): { stop(): void } {
  const stream = options.stream ?? process.stderr;
  const enabled = options.enabled ?? Boolean(stream.isTTY);
  if (!enabled) return { stop() {} };
  const now = options.now ?? Date.now;
  const started = now();
  let last = { at: started, count: 0 };
  let ended = false;
  const draw = (current: ProgressSample, end: boolean) => {
    const at = now();
    const rate = at > last.at ? ((current.count - last.count) * 1000) / (at - last.at) : 0;
    last = { at, count: current.count };
    const line = progressLine(options.label, current, rate, at - started, options.zone);
    // On a terminal redraw in place; elsewhere (--progress into a file) one line per sample.
    stream.write(stream.isTTY ? `\r\x1b[K${line}${end ? '\n' : ''}` : `${line}\n`);
    ended = end;
  };
  const tick = () => {
    const current = sample();
    if (current.finished && ended) return;
    draw(current, current.finished === true);
  };
  const timer = setInterval(tick, options.everyMs ?? 1000);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      if (!ended) draw(sample(), true);
    },
  };
}
