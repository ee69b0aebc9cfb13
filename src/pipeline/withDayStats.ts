import { defer, map, type Observable, type OperatorFunction } from 'rxjs';
import { tradingDay } from '../market/session.js';
import type { Quote, RawQuote } from '../protocol.js';

type DayState = {
  day: string;
  open: number;
  high: number;
  low: number;
  volume: number;
  prevClose?: number;
  last: number;
};

const round = (value: number, digits: number) => {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
};

/**
 * Adds the day's statistics per symbol: open (the feed's, else the day's first price), high, low, volume
 * (the feed's cumulative volume, else the sum of sizes), and change / changePct against prevClose (the
 * feed's, else the previous day's last price). The day is the exchange's calendar day in `zone`.
 */
export function withDayStats(zone: string): OperatorFunction<RawQuote & { seq: number }, Quote> {
  return (source: Observable<RawQuote & { seq: number }>) =>
    defer(() => {
      const days = new Map<string, DayState>();
      // Luxon is too slow to call per tick: keep the current day's bounds and recompute only outside them.
      let day = { key: '', start: 0, end: -1 };
      const dayOf = (ts: number) => {
        if (ts < day.start || ts >= day.end) day = tradingDay(zone, ts);
        return day.key;
      };
      return source.pipe(
        map((raw) => {
          const { upstreamSeq: _upstreamSeq, ...quote } = raw;
          const day = dayOf(raw.ts);
          let state = days.get(raw.symbol);
          if (!state || state.day !== day) {
            state = {
              day,
              open: raw.open ?? raw.price,
              high: raw.price,
              low: raw.price,
              volume: 0,
              prevClose: raw.prevClose ?? state?.last,
              last: raw.price,
            };
            days.set(raw.symbol, state);
          }
          if (raw.open !== undefined) state.open = raw.open;
          // A feed's own high and low are authoritative (a replay seek may move them back in time).
          state.high = raw.high ?? Math.max(state.high, raw.price);
          state.low = raw.low ?? Math.min(state.low, raw.price);
          state.volume = raw.volume ?? state.volume + (raw.size ?? 0);
          if (raw.prevClose !== undefined) state.prevClose = raw.prevClose;
          state.last = raw.price;
          const out: Quote = { ...quote, open: state.open, high: state.high, low: state.low, volume: state.volume };
          if (state.prevClose !== undefined) {
            out.prevClose = state.prevClose;
            out.change = round(raw.price - state.prevClose, 6);
            out.changePct = round(((raw.price - state.prevClose) / state.prevClose) * 100, 4);
          }
          return out;
        }),
      );
    });
}
