import { defer, map, type Observable, type OperatorFunction } from 'rxjs';
import { tradingDay } from '../market/session.js';
import type { Quote, RawQuote } from '../protocol.js';
import type { Numbered } from './assignSeq.js';

type DayState = {
  day: string;
  open: number;
  high: number;
  low: number;
  volume: number;
  prevClose?: number;
  last: number;
};

/**
 * Adds the day's statistics per symbol: open (the feed's, else the day's first price), high, low, volume
 * (the feed's cumulative volume, else the sum of sizes), and change / changePct against prevClose (the
 * feed's, else the previous day's last price). The day is the exchange's calendar day in `zone`.
 */
export function withDayStats(zone: string): OperatorFunction<Numbered<RawQuote>, Quote> {
  return (source: Observable<Numbered<RawQuote>>) =>
    defer(() => {
      const days = new Map<string, DayState>();
      // Luxon is too slow to call per tick: keep the current day's bounds and recompute only outside them.
      let bounds = { key: '', start: 0, end: -1 };
      const dayOf = (ts: number) => {
        if (ts < bounds.start || ts >= bounds.end) bounds = tradingDay(zone, ts);
        return bounds.key;
      };
      return source.pipe(
        map(({ value: raw, epoch, seq }) => {
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
          // Built field by field (no spread or rest): this runs for every tick.
          const out: Quote = { symbol: raw.symbol, price: raw.price, ts: raw.ts, epoch, seq };
          if (raw.bid !== undefined) out.bid = raw.bid;
          if (raw.ask !== undefined) out.ask = raw.ask;
          if (raw.size !== undefined) out.size = raw.size;
          out.volume = state.volume;
          out.open = state.open;
          out.high = state.high;
          out.low = state.low;
          if (state.prevClose !== undefined) {
            out.prevClose = state.prevClose;
            out.change = Math.round((raw.price - state.prevClose) * 1e6) / 1e6;
            out.changePct = Math.round(((raw.price - state.prevClose) / state.prevClose) * 1e6) / 1e4;
          }
          if (raw.source !== undefined) out.source = raw.source;
          return out;
        }),
      );
    });
}
