import { defer, map, type Observable, type OperatorFunction } from 'rxjs';
import { tradingDay } from '../market/session.js';
import { BAR_MS, type Quote, type RawQuote } from '../protocol.js';
import type { Numbered } from './assignSeq.js';

type DayState = {
  day: string;
  open: number;
  high: number;
  low: number;
  volume: number;
  prevClose?: number;
  /** Whether prevClose is the feed's (else it is the day before's last price, and follows a late tick of it). */
  feedPrevClose: boolean;
  last: number;
  /** The event time of `last`: a late tick of the day is its last price only if it is later. */
  lastTs: number;
};

/** A symbol's current day and the day before it (the one late ticks can still belong to). */
type SymbolDays = { current: DayState; before?: DayState; newestTs: number };

/** A quote of an earlier day this far behind the symbol's newest is a late tick; further, the feed jumped back. */
const LATE_TICK_MS = 5 * BAR_MS;

function dayStateOf(day: string, raw: RawQuote, prevClose: number | undefined): DayState {
  return {
    day,
    open: raw.open ?? raw.price,
    high: raw.price,
    low: raw.price,
    volume: 0,
    prevClose: raw.prevClose ?? prevClose,
    feedPrevClose: raw.prevClose !== undefined,
    last: raw.price,
    lastTs: raw.ts,
  };
}

/**
 * The day state a quote of `day` folds into, moving the symbol's days along: a later day starts with the
 * current day's last price as its prevClose; a tick of the day before that is at most LATE_TICK_MS late goes
 * to that day and leaves the current one alone; an earlier day than that (a replay seek or loop) starts over,
 * with no price of a later day as its prevClose.
 */
function dayStateFor(days: SymbolDays | undefined, day: string, raw: RawQuote): { days: SymbolDays; state: DayState } {
  if (!days) {
    const state = dayStateOf(day, raw, undefined);
    return { days: { current: state, newestTs: raw.ts }, state };
  }
  const { current, before } = days;
  if (day === current.day) return { days, state: current };
  if (day > current.day) {
    const state = dayStateOf(day, raw, current.last);
    return { days: { current: state, before: current, newestTs: raw.ts }, state };
  }
  if (before && day === before.day && days.newestTs - raw.ts < LATE_TICK_MS) return { days, state: before };
  const state = dayStateOf(day, raw, before?.day === day ? before.prevClose : undefined);
  return { days: { current: state, newestTs: raw.ts }, state };
}

/**
 * Adds the day's statistics per symbol: open (the feed's, else the day's first price), high, low, volume
 * (the feed's cumulative volume, else the sum of sizes), and change / changePct against prevClose (the
 * feed's, else the previous day's last price). The day is the exchange's calendar day in `zone`; a quote
 * carries the statistics of its own day, so a late tick of the day before does not reset the current one.
 * Live feeds drop a quote older than the last one before here (mergeByPriority), so late ticks come from a
 * replay: a recording holds what its feed sent, and a seek or loop goes back a day on purpose.
 */
export function withDayStats(zone: string): OperatorFunction<Numbered<RawQuote>, Quote> {
  return (source: Observable<Numbered<RawQuote>>) =>
    defer(() => {
      const symbols = new Map<string, SymbolDays>();
      // Luxon is too slow to call per tick: keep the current day's bounds and recompute only outside them.
      let bounds = { key: '', start: 0, end: -1 };
      const dayOf = (ts: number) => {
        if (ts < bounds.start || ts >= bounds.end) bounds = tradingDay(zone, ts);
        return bounds.key;
      };
      return source.pipe(
        map(({ value: raw, epoch, seq }) => {
          const known = symbols.get(raw.symbol);
          const { days, state } = dayStateFor(known, dayOf(raw.ts), raw);
          if (days !== known) symbols.set(raw.symbol, days);
          if (state === days.current) days.newestTs = Math.max(days.newestTs, raw.ts);
          if (raw.open !== undefined) state.open = raw.open;
          // A feed's own high and low are authoritative (a replay seek may move them back in time).
          state.high = raw.high ?? Math.max(state.high, raw.price);
          state.low = raw.low ?? Math.min(state.low, raw.price);
          state.volume = raw.volume ?? state.volume + (raw.size ?? 0);
          if (raw.prevClose !== undefined) {
            state.prevClose = raw.prevClose;
            state.feedPrevClose = true;
          }
          if (raw.ts >= state.lastTs) {
            state.last = raw.price;
            state.lastTs = raw.ts;
            // A late last trade of the day before is the current day's prevClose, unless the feed gave one.
            if (state === days.before && !days.current.feedPrevClose) days.current.prevClose = raw.price;
          }
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
