/**
 * What "holds the load" means, for every row and every step: frame lag p99 under 100 ms, at least 99% of
 * what was sent received, for a conflating server at least 99% of the frames it owes (one per interval per
 * subscribed socket: each socket's set changes every interval in these workloads, so a server that keeps
 * up sends them all; one that falls behind stretches its intervals and sends fewer), and every socket
 * subscribed.
 */

export const MAX_LAG_P99_MS = 100;
export const MIN_DELIVERED = 0.99;

export type Verdict = { passes: boolean; reasons: string[] };

export type Measured = {
  failed: number;
  lagP99Ms: number;
  receivedOverSent: number;
  /** Frames received over frames owed; undefined for a server that does not conflate (the naive one). */
  framesOfDemand?: number;
};

export function judge(row: Measured): Verdict {
  const reasons: string[] = [];
  if (row.failed > 0) reasons.push(`${row.failed.toLocaleString('en-US')} sockets not subscribed`);
  if (!(row.lagP99Ms < MAX_LAG_P99_MS)) reasons.push(`lag p99 ${row.lagP99Ms} ms`);
  if (!(row.receivedOverSent >= MIN_DELIVERED))
    reasons.push(
      Number.isFinite(row.receivedOverSent) ? `recv/sent ${row.receivedOverSent.toFixed(3)}` : 'recv/sent unknown',
    );
  if (row.framesOfDemand !== undefined && !(row.framesOfDemand >= MIN_DELIVERED))
    reasons.push(`${Number.isFinite(row.framesOfDemand) ? row.framesOfDemand.toFixed(3) : 'none'} of the frames owed`);
  return { passes: reasons.length === 0, reasons };
}
