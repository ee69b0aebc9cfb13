import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FramePacer } from '../../src/feeds/framePacer.js';

describe('FramePacer', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('writes at most perSecond frames in any window, in order, the rest when the window allows', () => {
    const pacer = new FramePacer(4, 1250, () => Date.now());
    const sent: [number, number][] = [];
    for (let i = 0; i < 10; i++) pacer.send(() => sent.push([i, Date.now()]));
    expect(sent.map(([i]) => i)).toEqual([0, 1, 2, 3]);
    expect(pacer.pending).toBe(6);
    vi.advanceTimersByTime(1251);
    expect(sent.map(([i]) => i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    vi.advanceTimersByTime(1251);
    expect(sent.map(([i]) => i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // Never more than 4 inside any 1250 ms.
    for (const [, at] of sent) expect(sent.filter(([, t]) => t >= at && t < at + 1250).length).toBeLessThanOrEqual(4);
  });

  it('writes at once while under the limit, and close() drops what waits', () => {
    const pacer = new FramePacer(2, 1000, () => Date.now());
    const sent: number[] = [];
    pacer.send(() => sent.push(1));
    vi.advanceTimersByTime(600);
    pacer.send(() => sent.push(2));
    pacer.send(() => sent.push(3));
    expect(sent).toEqual([1, 2]);
    vi.advanceTimersByTime(401);
    expect(sent).toEqual([1, 2, 3]);
    pacer.send(() => sent.push(4));
    pacer.close();
    vi.advanceTimersByTime(5000);
    expect(sent).toEqual([1, 2, 3]);
  });
});
