import type { ReplayStatus } from '../../src/protocol.js';

/**
 * The recorded moment a replay is at now, between the statuses that say where it was (the server sends one
 * as the position moves, about once a second): the last position, moved on at the replay's speed. The
 * dashboard's clock during a replay (session line, position), so that it tells the recorded session's time.
 */
export class ReplayClock {
  private replay: ReplayStatus | undefined;
  private receivedAt = 0;

  constructor(private readonly wallClock: () => number = Date.now) {}

  set(replay: ReplayStatus | undefined): void {
    this.replay = replay;
    this.receivedAt = this.wallClock();
  }

  get replaying(): boolean {
    return this.replay !== undefined;
  }

  /** The replay head now (recorded epoch ms), or undefined when the server is not replaying. */
  position(): number | undefined {
    const replay = this.replay;
    if (!replay) return undefined;
    if (replay.paused || replay.ended || replay.speed === 'max') return replay.position;
    const moved = replay.position + (this.wallClock() - this.receivedAt) * replay.speed;
    return replay.to === undefined ? moved : Math.min(moved, replay.to);
  }

  /** What the dashboard takes as now: the replay head during a replay, else the wall clock. */
  now(): number {
    return this.position() ?? this.wallClock();
  }
}
