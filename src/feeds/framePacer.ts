/**
 * Writes frames in order, at most `perSecond` of them in any `windowMs` (a second, or more to leave room for the
 * network bunching frames up on the way); the rest wait their turn. Binance cuts a client that sends more than 5
 * messages a second (pings and pongs included), so everything a connection sends goes through one pacer.
 */
export class FramePacer {
  /** When each of the last `perSecond` frames went out, oldest first. */
  private readonly sentAt: number[] = [];
  private readonly waiting: (() => void)[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly perSecond: number,
    private readonly windowMs = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  send(write: () => void): void {
    this.waiting.push(write);
    this.drain();
  }

  /** Frames still waiting (a caller may log a long queue). */
  get pending(): number {
    return this.waiting.length;
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.waiting.length = 0;
  }

  private drain(): void {
    if (this.timer) return;
    for (let write = this.waiting[0]; write; write = this.waiting[0]) {
      const now = this.now();
      while (this.sentAt.length > 0 && now - (this.sentAt[0] ?? 0) >= this.windowMs) this.sentAt.shift();
      if (this.sentAt.length >= this.perSecond) {
        const wait = this.windowMs - (now - (this.sentAt[0] ?? now)) + 1;
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.drain();
        }, wait);
        return;
      }
      this.sentAt.push(now);
      this.waiting.shift();
      write();
    }
  }
}
