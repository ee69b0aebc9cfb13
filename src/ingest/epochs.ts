/**
 * The epochs of one numbering of quotes (docs/PROTOCOL.md, "Epochs"): the first is the wall clock when the
 * process starts, each next one (a replay seek or loop) the clock again or one more than the last, so epochs
 * only grow, within a process and, as far as the clocks agree, across restarts.
 */
export class Epochs {
  private value: number;

  constructor(private readonly now: () => number = Date.now) {
    this.value = now();
  }

  get current(): number {
    return this.value;
  }

  /** Starts a new epoch and returns it. */
  next(): number {
    this.value = Math.max(this.now(), this.value + 1);
    return this.value;
  }
}
