/**
 * The step search: the largest socket count a server holds (see criteria.ts), to within about 10%. Climbs
 * a ladder of sizes until a step fails, then halves the gap between the last pass and the first failure.
 */

/** A step's verdict, or why it did not run (the time budget). */
export type StepOutcome = { passes: true } | { passes: false; reason: string } | { skipped: string };

export type StepLimits = {
  /** The largest size to try (--step-max). */
  stepMax: number;
  /** The largest size this machine can open (file descriptors), and why. */
  cap: number;
  capReason: string;
};

export type SearchResult = { largestPassing: number; stoppedBy: string };

export const LADDER: readonly number[] = [1000, 2000, 5000, 10_000, 15_000, 20_000, 30_000, 50_000];

/** Bisection stops once the gap is within this: 10% of the failing size, and never under 100 sockets. */
const resolution = (failing: number) => Math.max(100, failing * 0.1);
/** Sizes tried in the bisection are round: multiples of 50 up to 2,000, of 250 above. */
const grain = (sockets: number) => (sockets <= 2000 ? 50 : 250);

const count = (n: number) => n.toLocaleString('en-US');

export async function searchLargestPassing(
  runStep: (sockets: number) => Promise<StepOutcome>,
  limits: StepLimits,
): Promise<SearchResult> {
  const top = Math.min(limits.stepMax, limits.cap);
  const rungs = [...LADDER.filter((sockets) => sockets < top), top];
  let largestPassing = 0;
  let failing: { sockets: number; reason: string } | undefined;
  for (const sockets of rungs) {
    const outcome = await runStep(sockets);
    if ('skipped' in outcome) return { largestPassing, stoppedBy: outcome.skipped };
    if (!outcome.passes) {
      failing = { sockets, reason: outcome.reason };
      break;
    }
    largestPassing = sockets;
  }
  if (!failing)
    return { largestPassing, stoppedBy: top === limits.stepMax ? `--step-max ${count(top)} passed` : limits.capReason };
  while (failing.sockets - largestPassing > resolution(failing.sockets)) {
    const unit = grain(failing.sockets);
    const middle: number = Math.round((largestPassing + failing.sockets) / 2 / unit) * unit;
    if (middle <= largestPassing || middle >= failing.sockets) break;
    const outcome = await runStep(middle);
    if ('skipped' in outcome)
      return { largestPassing, stoppedBy: `${describe(failing)}; narrowing it down: ${outcome.skipped}` };
    if (outcome.passes) largestPassing = middle;
    else failing = { sockets: middle, reason: outcome.reason };
  }
  return { largestPassing, stoppedBy: describe(failing) };
}

const describe = (failing: { sockets: number; reason: string }) => `${failing.reason} at ${count(failing.sockets)}`;
