import { describe, expect, it } from 'vitest';
import type { ReplayStatus } from '../../src/protocol.js';
import { ReplayClock } from '../../web/src/replayClock.js';

const T = Date.UTC(2026, 10, 20, 14, 34);
const status = (overrides: Partial<ReplayStatus> = {}): ReplayStatus => ({
  speed: 10,
  paused: false,
  position: T,
  to: T + 60_000,
  ...overrides,
});

describe("ReplayClock (the dashboard's now during a replay)", () => {
  it('moves the last position on at the replay speed, up to the end of the range', () => {
    let wall = 1_000;
    const clock = new ReplayClock(() => wall);
    expect(clock.position()).toBeUndefined();
    expect(clock.now()).toBe(1_000);
    clock.set(status());
    wall += 2_000;
    expect(clock.position()).toBe(T + 20_000);
    wall += 10_000;
    expect(clock.now()).toBe(T + 60_000);
  });

  it('stands still paused, at the end, and at max speed (its pace is unknown)', () => {
    let wall = 0;
    const clock = new ReplayClock(() => wall);
    for (const replay of [status({ paused: true }), status({ ended: true }), status({ speed: 'max' })]) {
      clock.set(replay);
      wall += 5_000;
      expect(clock.position()).toBe(T);
    }
    clock.set(undefined);
    expect(clock.replaying).toBe(false);
    expect(clock.now()).toBe(wall);
  });
});
