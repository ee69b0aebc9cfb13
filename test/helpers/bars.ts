import type { Bar } from '../../src/protocol.js';

/**
 * The 1-minute bar rules written out on their own, as tests' oracle (oldest first): minute buckets of the
 * event time, the volume of a quote its size else the growth of the day's volume, a tick late for a closed
 * bar ignored (its volume too: the next bar grows from the last one before it), a jump back of 5 minutes or
 * more starting over.
 */
export function barsOf(quotes: readonly { ts: number; price: number; size?: number; volume?: number }[]): Bar[] {
  let bars: Bar[] = [];
  let lastVolume: number | undefined;
  for (const q of quotes) {
    const time = q.ts - (q.ts % 60_000);
    const top = bars[bars.length - 1];
    if (top && time < top.time) {
      if (top.time - time < 300_000) continue;
      bars = [];
    }
    const previous = lastVolume;
    if (q.volume !== undefined) lastVolume = q.volume;
    const volume = q.size ?? (q.volume !== undefined && previous !== undefined ? Math.max(0, q.volume - previous) : 0);
    const current = bars[bars.length - 1];
    if (current && current.time === time) {
      current.high = Math.max(current.high, q.price);
      current.low = Math.min(current.low, q.price);
      current.close = q.price;
      current.volume += volume;
    } else bars.push({ time, open: q.price, high: q.price, low: q.price, close: q.price, volume });
  }
  return bars;
}
