/**
 * The tier a client's `maxHz` maps to: the highest configured tier at or below it, clamped to the
 * configured range (a request under the lowest tier gets the lowest).
 */
export function rateTier(tiers: readonly number[], maxHz: number): number {
  const sorted = [...tiers].sort((a, b) => a - b);
  let chosen = sorted[0] as number;
  for (const tier of sorted) if (tier <= maxHz) chosen = tier;
  return chosen;
}
