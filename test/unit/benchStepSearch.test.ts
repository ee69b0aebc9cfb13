import { describe, expect, it } from 'vitest';
import { Deadline, TimeBudget } from '../../bench/budget.js';
import { judge } from '../../bench/criteria.js';
import { type StepOutcome, searchLargestPassing } from '../../bench/stepSearch.js';

const limits = { stepMax: 50_000, cap: 19_000, capReason: 'open files limit 20000' };

/** A server that holds up to `capacity` sockets; records the sizes the search tried. */
function serverHolding(capacity: number) {
  const tried: number[] = [];
  const runStep = async (sockets: number): Promise<StepOutcome> => {
    tried.push(sockets);
    return sockets <= capacity ? { passes: true } : { passes: false, reason: 'lag p99 150 ms' };
  };
  return { tried, runStep };
}

describe('the step search', () => {
  it('finds the largest passing size to within 10%, trying round sizes', async () => {
    const server = serverHolding(3300);
    const result = await searchLargestPassing(server.runStep, limits);
    expect(result.largestPassing).toBeLessThanOrEqual(3300);
    expect(result.largestPassing).toBeGreaterThan(3300 * 0.9);
    expect(server.tried.slice(0, 3)).toEqual([1000, 2000, 5000]);
    for (const sockets of server.tried) expect(sockets % 50).toBe(0);
    expect(result.stoppedBy).toMatch(/^lag p99 150 ms at [\d,]+$/);
  });

  it('goes below the first rung for a server that fails it (the naive one)', async () => {
    const server = serverHolding(330);
    const result = await searchLargestPassing(server.runStep, limits);
    expect(server.tried[0]).toBe(1000);
    expect(result.largestPassing).toBeGreaterThan(230);
    expect(result.largestPassing).toBeLessThanOrEqual(330);
  });

  it('ends at --step-max or the open-files cap when everything passes', async () => {
    const small = serverHolding(1e9);
    expect(await searchLargestPassing(small.runStep, { ...limits, stepMax: 600 })).toEqual({
      largestPassing: 600,
      stoppedBy: '--step-max 600 passed',
    });
    expect(small.tried).toEqual([600]);
    const big = serverHolding(1e9);
    expect(await searchLargestPassing(big.runStep, limits)).toEqual({
      largestPassing: 19_000,
      stoppedBy: 'open files limit 20000',
    });
    expect(big.tried).toEqual([1000, 2000, 5000, 10_000, 15_000, 19_000]);
  });

  it('stops when a step is skipped for time, keeping what it found', async () => {
    let steps = 0;
    const result = await searchLargestPassing(async (sockets) => {
      steps += 1;
      if (steps > 4) return { skipped: 'time budget' };
      return sockets <= 3000 ? { passes: true } : { passes: false, reason: 'lag p99 150 ms' };
    }, limits);
    expect(result).toEqual({
      largestPassing: 2000,
      stoppedBy: 'lag p99 150 ms at 3,500; narrowing it down: time budget',
    });
  });
});

describe('the pass criteria', () => {
  const good = { failed: 0, lagP99Ms: 40, receivedOverSent: 1, framesOfDemand: 1 };
  it('passes a row that keeps up and names every reason a row does not', () => {
    expect(judge(good)).toEqual({ passes: true, reasons: [] });
    expect(judge({ failed: 3, lagP99Ms: 100, receivedOverSent: 0.98, framesOfDemand: 0.9 }).reasons).toEqual([
      '3 sockets not subscribed',
      'lag p99 100 ms',
      'recv/sent 0.980',
      '0.900 of the frames owed',
    ]);
    expect(judge({ ...good, receivedOverSent: Number.NaN }).reasons).toEqual(['recv/sent unknown']);
    // The naive server does not conflate: it owes no frames per interval.
    expect(judge({ ...good, framesOfDemand: undefined }).passes).toBe(true);
  });
});

describe('the time budget', () => {
  it("gives each part the time left in proportion to its cost, and a part's leftover to the later ones", () => {
    let now = 0;
    const clock = () => now;
    const budget = new TimeBudget(100_000, [10_000, 30_000, 60_000], clock);
    const first = budget.take(10_000);
    expect(first.at).toBe(10_000);
    now = 4000; // done early: 96 s left for 90 s of planned cost
    expect(budget.take(30_000).at).toBe(4000 + 96_000 / 3);
    now = 50_000; // overran: the last part gets what is left, not its plan
    const last = budget.take(60_000);
    expect(last.at).toBe(100_000);
    expect(last.fits(50_000)).toBe(true);
    // Costs are estimates: a part that fits to the second fits.
    expect(last.fits(51_000)).toBe(true);
    expect(last.fits(51_001)).toBe(false);
    expect(new Deadline(10, clock).remainingMs()).toBe(0);
  });

  it('gives a part that runs whole its cost when the plan is over budget, and later parts what is left', () => {
    let now = 0;
    const budget = new TimeBudget(60_000, [20_000, 20_000, 80_000], () => now);
    // Proportionally 10 s: too little for a run; it gets its 20 s.
    expect(budget.takeWhole(20_000).at).toBe(20_000);
    now = 20_000;
    expect(budget.takeWhole(20_000).at).toBe(40_000);
    now = 40_000;
    // The elastic part (a step search) gets the 20 s left, not its plan; a whole part never passes the end.
    expect(budget.take(80_000).at).toBe(60_000);
    expect(budget.takeWhole(80_000).at).toBe(60_000);
  });
});
