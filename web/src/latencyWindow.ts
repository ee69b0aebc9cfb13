/** Tick-to-screen latencies over a sliding window: p50 and p99 of the last `windowMs`. */
export class LatencyWindow {
  private times: number[] = [];
  private values: number[] = [];

  constructor(
    private readonly windowMs = 5000,
    private readonly maxSamples = 50_000,
  ) {}

  record(latencyMs: number, now: number): void {
    this.times.push(now);
    this.values.push(latencyMs);
    if (this.times.length > this.maxSamples) this.drop(this.times.length - this.maxSamples);
  }

  stats(now: number): { p50: number; p99: number; count: number } | undefined {
    let old = 0;
    while (old < this.times.length && (this.times[old] as number) < now - this.windowMs) old++;
    this.drop(old);
    if (this.values.length === 0) return undefined;
    const sorted = Float64Array.from(this.values).sort();
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
    return { p50: at(0.5), p99: at(0.99), count: sorted.length };
  }

  clear(): void {
    this.times = [];
    this.values = [];
  }

  private drop(count: number): void {
    if (count <= 0) return;
    this.times.splice(0, count);
    this.values.splice(0, count);
  }
}
