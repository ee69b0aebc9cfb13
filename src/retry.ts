/**
 * The delay before reconnection attempt `attempt` (1, 2, ...): base * 2^(attempt-1), capped at `maxMs` (but
 * never below the base, which an upstream's `retry:` may set), then jittered to 50-100% so that many clients
 * cut off at once do not come back at once. Every reconnecting thing in tickstream waits this long.
 */
export function backoffDelay(baseMs: number, maxMs: number, attempt: number, random01: number = Math.random()): number {
  const exponential = Math.max(baseMs, Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1)));
  return Math.round(exponential * (0.5 + 0.5 * random01));
}
