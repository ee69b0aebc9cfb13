import { DateTime } from 'luxon';
import type { ReplayStatus, SessionState, SessionStatus } from '../protocol.js';

export type MarketCalendar = {
  exchange: string;
  zone: string;
  preOpen: string;
  open: string;
  close: string;
  postClose: string;
  /** Full-day closures, "YYYY-MM-DD" in the exchange's zone. */
  holidays: string[];
  /** Days whose session ends early ("YYYY-MM-DD"): the regular session closes at `earlyClose`, after-hours at `earlyPostClose`. */
  earlyCloses: string[];
  earlyClose: string;
  earlyPostClose: string;
};

type Boundary = { at: DateTime; state: SessionState };

/**
 * The trading-day boundaries of `day` in order: pre from preOpen, open, post from close, closed from postClose
 * (from earlyClose and earlyPostClose on a day that closes early).
 */
function boundariesOf(calendar: MarketCalendar, day: DateTime): Boundary[] {
  const at = (hhmm: string) => {
    const [hour, minute] = hhmm.split(':').map(Number);
    return day.set({ hour, minute, second: 0, millisecond: 0 });
  };
  const early = calendar.earlyCloses.includes(day.toISODate() ?? '');
  return [
    { at: at(calendar.preOpen), state: 'pre' },
    { at: at(calendar.open), state: 'open' },
    { at: at(early ? calendar.earlyClose : calendar.close), state: 'post' },
    { at: at(early ? calendar.earlyPostClose : calendar.postClose), state: 'closed' },
  ];
}

function isTradingDay(calendar: MarketCalendar, day: DateTime): boolean {
  return day.weekday <= 5 && !calendar.holidays.includes(day.toISODate() ?? '');
}

/** Each calendar's last answer and the instants it holds for: [computed at, next change). */
const lastAnswers = new WeakMap<MarketCalendar, { from: number; until: number; status: SessionStatus }>();

/**
 * The session state at `instant` (epoch ms) and when it next changes, in the exchange's zone. The answer is
 * kept until its next change: every connection is sent the status, and luxon's zone arithmetic is slow (it
 * was 2.5% of a busy server's profile while 5,000 sockets connected).
 */
export function marketSession(calendar: MarketCalendar, instant: number): SessionStatus {
  const last = lastAnswers.get(calendar);
  if (last && instant >= last.from && instant < last.until) return last.status;
  const status = Object.freeze(computeSession(calendar, instant));
  lastAnswers.set(calendar, { from: instant, until: Date.parse(status.nextChange), status });
  return status;
}

function computeSession(calendar: MarketCalendar, instant: number): SessionStatus {
  const now = DateTime.fromMillis(instant, { zone: calendar.zone });
  if (!now.isValid) throw new Error(`invalid market zone "${calendar.zone}"`);
  let state: SessionState = 'closed';
  let next: DateTime | undefined;
  if (isTradingDay(calendar, now)) {
    for (const boundary of boundariesOf(calendar, now.startOf('day'))) {
      if (boundary.at <= now) state = boundary.state;
      else {
        next = boundary.at;
        break;
      }
    }
  }
  if (!next) {
    // Closed for the rest of today: the next change is the next trading day's pre-market.
    let day = now.startOf('day').plus({ days: 1 });
    for (let i = 0; i < 366 && !isTradingDay(calendar, day); i++) day = day.plus({ days: 1 });
    next = boundariesOf(calendar, day)[0]?.at as DateTime;
  }
  return { exchange: calendar.exchange, state, nextChange: next.toISO() ?? '', zone: calendar.zone };
}

/** The calendar day of `instant` in the exchange's zone: its key ("YYYY-MM-DD") and bounds in epoch ms. */
export function tradingDay(zone: string, instant: number): { key: string; start: number; end: number } {
  const start = DateTime.fromMillis(instant, { zone }).startOf('day');
  // The next day's own start: where clocks go forward at midnight a day starts at 01:00, and a day after it
  // is not the next midnight.
  const end = start.plus({ days: 1 }).startOf('day');
  return { key: start.toISODate() ?? '', start: start.toMillis(), end: end.toMillis() };
}

/** The session a status shows: a replay's is that of the recorded moment, not of the wall clock. */
export function shownSession(calendar: MarketCalendar, replay: ReplayStatus | undefined, now: number): SessionStatus {
  return marketSession(calendar, replay?.position || now);
}
