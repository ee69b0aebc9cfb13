/**
 * The run's time budget, so that `npm run bench` ends by itself: each part of the run (a measurement, a
 * step search) is planned with its expected cost, and when it starts it gets the time still left in
 * proportion to its cost among the parts not started yet. A part that ends early leaves its time to the
 * later ones; one that overruns takes it from them, never from the end of the run.
 */
export class TimeBudget {
  private readonly endsAt: number;
  private plannedCostMs: number;

  constructor(
    totalMs: number,
    plannedCostsMs: readonly number[],
    private readonly now: () => number = Date.now,
  ) {
    this.endsAt = now() + totalMs;
    this.plannedCostMs = plannedCostsMs.reduce((sum, cost) => sum + cost, 0);
  }

  remainingMs(): number {
    return Math.max(0, this.endsAt - this.now());
  }

  /**
   * Starts a planned part of expected cost `costMs` that can do with less (a step search takes fewer steps):
   * the time it may take, as a deadline.
   */
  take(costMs: number): Deadline {
    const share = this.plannedCostMs > 0 ? Math.min(1, costMs / this.plannedCostMs) : 1;
    this.plannedCostMs = Math.max(0, this.plannedCostMs - costMs);
    return new Deadline(this.now() + this.remainingMs() * share, this.now);
  }

  /**
   * Starts a planned part that runs whole or not at all (one measurement): at least its cost while the
   * budget has it, taken from the later parts when the plan is over budget.
   */
  takeWhole(costMs: number): Deadline {
    const share = this.take(costMs);
    return new Deadline(Math.max(share.at, this.now() + Math.min(costMs, this.remainingMs())), this.now);
  }
}

const ESTIMATE_SLACK_MS = 1000;

/** When a part of the run must be done by. */
export class Deadline {
  constructor(
    readonly at: number,
    private readonly now: () => number = Date.now,
  ) {}

  remainingMs(): number {
    return Math.max(0, this.at - this.now());
  }

  /** Whether work expected to take `costMs` ends before the deadline (costs are estimates to the second). */
  fits(costMs: number): boolean {
    return costMs <= this.remainingMs() + ESTIMATE_SLACK_MS;
  }
}
