import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  formatSpeed,
  type ProgressSample,
  type ProgressStream,
  progressLine,
  startProgress,
} from '../../src/cli/progress.js';

/** A terminal that keeps what is written to it. */
function terminal() {
  const writes: string[] = [];
  const stream: ProgressStream = { isTTY: true, write: (text: string) => writes.push(text) };
  return { writes, stream };
}

describe('progress line', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('a finished run ends its line once, and draws again only when it goes on (a seek after the end)', () => {
    const { writes, stream } = terminal();
    let sample: ProgressSample = { count: 10, note: '10x' };
    const progress = startProgress(() => sample, { label: 'replay', stream, everyMs: 1000, now: () => Date.now() });
    vi.advanceTimersByTime(1000);
    sample = { count: 20, note: '10x ended', finished: true };
    vi.advanceTimersByTime(5000);
    const ended = writes.filter((w) => w.includes('ended'));
    expect(ended).toHaveLength(1);
    expect(ended[0]?.endsWith('\n')).toBe(true);
    sample = { count: 25, note: '10x' };
    vi.advanceTimersByTime(1000);
    expect(writes.at(-1)).toMatch(/25 records/);
    progress.stop();
    expect(writes.at(-1)?.endsWith('\n')).toBe(true);
    const before = writes.length;
    sample = { count: 30, finished: true };
    vi.advanceTimersByTime(3000);
    expect(writes.length).toBe(before);
  });

  it('stop after the end draws nothing more', () => {
    const { writes, stream } = terminal();
    const progress = startProgress(() => ({ count: 1, finished: true }), { label: 'replay', stream, everyMs: 1000 });
    vi.advanceTimersByTime(3000);
    progress.stop();
    expect(writes).toHaveLength(1);
  });

  it('says speeds and the ETA it is given', () => {
    expect(formatSpeed('max')).toBe('max speed');
    expect(formatSpeed(10)).toBe('10x');
    expect(progressLine('replay', { count: 5, etaMs: 125_000, note: formatSpeed(10) }, 3, 1000)).toBe(
      'replay  5 records  3/s  10x  ETA 2m05s',
    );
  });
});
