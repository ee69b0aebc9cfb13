import { asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs';
import { type Quote, toDelta } from '../protocol.js';
import { type EncodedPacket, writeEncoded } from './engine.js';
import { steadyClock } from './steadyClock.js';
import type { EncodedQuote, TicksEncoding } from './ticksFrame.js';
import type { Lane, LaneGroup, MembershipHooks, TierMembership } from './tierMembership.js';
import { TurnBatcher } from './turnBatcher.js';
import type { QuoteSource, QuoteText } from './types.js';

export type TierDeliveryOptions = {
  membership: TierMembership;
  source: QuoteSource;
  /** How frames are encoded; must match the Socket.IO server's parser. */
  encoding: TicksEncoding;
  /**
   * A quote that ends a silence of at least this long goes out at once rather than at its lane's next tick
   * (a quiet symbol's update is not held back); 0 turns it off. Never more often than the tier's rate.
   */
  promptAfterMs: number;
  scheduler?: SchedulerLike;
  /**
   * Per lane tick (or prompt): quotes that went out on their tier for the first time, quotes written to
   * sockets, frames encoded and frames written.
   */
  onDelivered?: (counts: DeliveryCounts) => void;
};

export type DeliveryCounts = { updates: number; deliveries: number; framesEncoded: number; framesWritten: number };

/** What a lane last sent of each symbol, and when. */
type LaneSent = { quote: Map<string, Cell>; at: Map<string, number>; prompted: Map<string, number> };

/**
 * A symbol's newest arrival and what delivery made of it: the quote (decoded when first sent, for a source
 * that hands over text), its parts, encoded once whatever the number of tiers, lanes and groups it goes to,
 * and the tiers it went out on. A new cell per arrival, so a lane knows a symbol changed by identity.
 * (WeakMaps keyed by quote did the same at a microsecond more per quote: every scavenge walks their
 * ephemeron tables.)
 */
type Cell = {
  readonly arrival: Quote | QuoteText;
  quote?: Quote;
  full?: EncodedQuote;
  whole?: EncodedQuote;
  tiers?: number[];
};

/** The cell's quote, decoded on first use (only what a lane sends); undefined when its text is not a valid quote. */
function quoteOf(cell: Cell): Quote | undefined {
  if (cell.quote === undefined) cell.quote = 'decode' in cell.arrival ? cell.arrival.decode() : cell.arrival;
  return cell.quote;
}

/**
 * Conflation per rate tier, and the frames. Each watched symbol's newest quote is kept in one cell; each tier
 * has one steady clock split into lanes (see TierMembership), and at a lane's tick every symbol of the lane
 * whose newest quote changed since the lane last sent it is due. The due quotes are encoded once each, and each
 * group of sockets that watches the same set gets one frame, encoded once and written to each of them: one
 * `ticks` event per socket per interval with all its changed symbols. A quote that ends a silence goes out at
 * once (`promptAfterMs`), in a frame of its own, unless its lane sent it less than an interval ago.
 */
export class TierDelivery implements MembershipHooks {
  private readonly latest = new Map<string, Cell>();
  private readonly arrivedAt = new Map<string, number>();
  private readonly feeds = new Map<string, Subscription>();
  private readonly clocks = new Map<number, Subscription>();
  private readonly sent = new Map<string, LaneSent>();
  private readonly prompt: TurnBatcher<string>;
  private readonly scheduler: SchedulerLike;
  private readonly work: LaneWork[] = [];
  private pumping = false;
  private resume: NodeJS.Immediate | undefined;

  constructor(private readonly options: TierDeliveryOptions) {
    this.scheduler = options.scheduler ?? asyncScheduler;
    this.prompt = new TurnBatcher<string>((symbols) => this.deliverPrompt(symbols));
  }

  /** The first socket watches `symbol`: follow its quotes. */
  symbolWatched(symbol: string): void {
    if (this.feeds.has(symbol)) return;
    this.feeds.set(
      symbol,
      this.options.source.quotes(symbol).subscribe((quote) => this.arrive(quote)),
    );
  }

  /** Nobody watches `symbol` any more: stop following it and forget what was sent. */
  symbolUnwatched(symbol: string): void {
    this.feeds.get(symbol)?.unsubscribe();
    this.feeds.delete(symbol);
    this.latest.delete(symbol);
    this.arrivedAt.delete(symbol);
    for (const lane of this.sent.values()) {
      lane.quote.delete(symbol);
      lane.at.delete(symbol);
      lane.prompted.delete(symbol);
    }
  }

  /** The tier at `hz` has sockets: run its clock, one tick per lane per interval. */
  tierOpened(hz: number): void {
    if (this.clocks.has(hz)) return;
    const lanes = this.options.membership.lanesOf(hz);
    this.clocks.set(
      hz,
      steadyClock(1000 / hz / lanes, this.scheduler, lanes).subscribe((tick) => this.deliverTick(hz, tick % lanes)),
    );
  }

  tierClosed(hz: number): void {
    this.clocks.get(hz)?.unsubscribe();
    this.clocks.delete(hz);
    for (const key of [...this.sent.keys()]) if (key.startsWith(`${hz}#`)) this.sent.delete(key);
  }

  stop(): void {
    for (const subscription of [...this.feeds.values(), ...this.clocks.values()]) subscription.unsubscribe();
    this.feeds.clear();
    this.clocks.clear();
    this.prompt.clear();
    if (this.resume) clearImmediate(this.resume);
    this.resume = undefined;
    this.work.length = 0;
  }

  private arrive(arrival: Quote | QuoteText): void {
    const { symbol } = arrival;
    if (this.latest.get(symbol)?.arrival === arrival) return;
    const now = this.scheduler.now();
    const before = this.arrivedAt.get(symbol);
    this.arrivedAt.set(symbol, now);
    this.latest.set(symbol, { arrival });
    const { promptAfterMs } = this.options;
    if (promptAfterMs > 0 && (before === undefined || now - before >= promptAfterMs)) this.prompt.add(symbol, symbol);
  }

  private deliverTick(hz: number, laneIndex: number): void {
    const lane = this.options.membership.lane(hz, laneIndex);
    if (lane) this.deliver(hz, laneIndex, lane, lane.symbols.keys(), false);
  }

  /** Symbols that ended a silence, in every lane that watches them. */
  private deliverPrompt(symbols: string[]): void {
    const { membership } = this.options;
    for (const hz of [...membership.activeTiers()]) {
      for (let i = 0; i < membership.lanesOf(hz); i++) {
        const lane = membership.lane(hz, i);
        if (lane) this.deliver(hz, i, lane, symbols, true);
      }
    }
  }

  private laneSent(hz: number, lane: number): LaneSent {
    const key = `${hz}#${lane}`;
    let sent = this.sent.get(key);
    if (!sent) {
      sent = { quote: new Map(), at: new Map(), prompted: new Map() };
      this.sent.set(key, sent);
    }
    return sent;
  }

  private deliver(hz: number, laneIndex: number, lane: Lane, candidates: Iterable<string>, prompt: boolean): void {
    if (lane.groups.size === 0) return;
    const intervalMs = 1000 / hz;
    const now = this.scheduler.now();
    const sent = this.laneSent(hz, laneIndex);
    const due = new Map<string, Due>();
    let updates = 0;
    for (const symbol of candidates) {
      if (prompt && !lane.symbols.has(symbol)) continue;
      const cell = this.latest.get(symbol);
      const previous = sent.quote.get(symbol);
      if (cell === undefined || cell === previous) continue;
      const quote = quoteOf(cell);
      if (quote === undefined) continue;
      if (prompt) {
        // Not above the tier's rate: a lane that sent it less than an interval ago leaves it to its clock.
        const at = sent.at.get(symbol);
        if (at !== undefined && now - at < intervalMs) continue;
        sent.prompted.set(symbol, now);
      } else {
        const promptedAt = sent.prompted.get(symbol);
        if (promptedAt !== undefined) {
          if (now - promptedAt < intervalMs) continue;
          sent.prompted.delete(symbol);
        }
      }
      sent.quote.set(symbol, cell);
      sent.at.set(symbol, now);
      due.set(symbol, { cell, quote, previous: previous?.quote, delta: undefined });
      // Counted once per tier: the lanes of a tier send the same quote to different sockets.
      if (!cell.tiers?.includes(hz)) {
        if (cell.tiers) cell.tiers.push(hz);
        else cell.tiers = [hz];
        updates++;
      }
    }
    if (due.size === 0) return;
    this.options.onDelivered?.({ updates, deliveries: 0, framesEncoded: 0, framesWritten: 0 });
    // Written by the pump, a slice of work at a time: groups are read now, their members when written.
    this.work.push({ due, groups: [...lane.groups.values()], next: 0 });
    this.pump();
  }

  /**
   * Writes queued frames for up to SLICE_MS, then yields to the event loop (setImmediate) and goes on: however
   * many sockets a tick writes, requests, handshakes and acks get their turn between slices, so a saturated
   * server keeps answering them and lets frames lag instead.
   */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    const started = performance.now();
    const counts: DeliveryCounts = { updates: 0, deliveries: 0, framesEncoded: 0, framesWritten: 0 };
    try {
      while (this.work.length > 0) {
        const work = this.work[0] as LaneWork;
        while (work.next < work.groups.length) {
          this.writeGroup(work.groups[work.next++] as LaneGroup, work.due, counts);
          if (performance.now() - started > SLICE_MS) {
            this.resume ??= setImmediate(() => {
              this.resume = undefined;
              this.pump();
            });
            return;
          }
        }
        this.work.shift();
      }
    } finally {
      this.pumping = false;
      if (counts.framesEncoded > 0) this.options.onDelivered?.(counts);
    }
  }

  /** One group's frame: the due quotes it watches, encoded once, written to each member. */
  private writeGroup(group: LaneGroup, due: ReadonlyMap<string, Due>, counts: DeliveryCounts): void {
    if (group.members.size === 0) return;
    const mine: Due[] = [];
    // Whichever is smaller: the due quotes (a prompt, a quiet tick) or the group's symbols.
    if (due.size <= group.symbols.length) {
      for (const [symbol, entry] of due) if (group.has.has(symbol)) mine.push(entry);
    } else {
      for (const symbol of group.symbols) {
        const entry = due.get(symbol);
        if (entry) mine.push(entry);
      }
    }
    if (mine.length === 0) return;
    const { encoding } = this.options;
    let shared: EncodedPacket | undefined;
    for (const socket of group.members) {
      let packet: EncodedPacket;
      const needs = group.deltas ? group.needsBase.get(socket) : undefined;
      if (needs && mine.some((entry) => needs.has(entry.quote.symbol))) {
        // A member that just joined: whole updates for the symbols it has no base for yet, in a frame of its own.
        packet = encoding.packet(
          mine.map((entry) => (needs.delete(entry.quote.symbol) ? this.whole(entry) : this.delta(entry))),
          'deltas',
        );
        if (needs.size === 0) group.needsBase.delete(socket);
        counts.framesEncoded++;
      } else {
        if (!shared) {
          shared = group.deltas
            ? encoding.packet(
                mine.map((entry) => this.delta(entry)),
                'deltas',
              )
            : encoding.packet(mine.map((entry) => this.full(entry)));
          counts.framesEncoded++;
        }
        packet = shared;
      }
      if (!writeEncoded(socket, packet)) continue;
      counts.framesWritten++;
      counts.deliveries += mine.length;
    }
  }

  /** A quote whole, as `ticks` carry it: encoded once, whatever the number of tiers, lanes and groups. */
  private full({ cell, quote }: Due): EncodedQuote {
    cell.full ??= this.options.encoding.part(quote);
    return cell.full;
  }

  /** A quote whole, as a delta with no base (for a member that has none yet). */
  private whole({ cell, quote }: Due): EncodedQuote {
    cell.whole ??= this.options.encoding.part(toDelta(quote));
    return cell.whole;
  }

  /** The fields that changed since the lane last sent the symbol: encoded once per lane tick. */
  private delta(entry: Due): EncodedQuote {
    entry.delta ??= entry.previous
      ? this.options.encoding.part(toDelta(entry.quote, entry.previous))
      : this.whole(entry);
    return entry.delta;
  }
}

/**
 * What a lane sends of a symbol at a tick: the symbol's cell and its quote, the quote the lane sent before (the
 * base of a delta), and the delta once made (every group after the first reads it here).
 */
type Due = { cell: Cell; quote: Quote; previous: Quote | undefined; delta?: EncodedQuote };

/** A lane tick's frames still to write: its due quotes, its groups, and how far the pump got. */
type LaneWork = { due: ReadonlyMap<string, Due>; groups: LaneGroup[]; next: number };

/** How long the pump writes before it lets the event loop serve everything else. */
const SLICE_MS = 8;
