import type { Subscription } from 'rxjs';
import type { Server } from 'socket.io';
import type { ConflatedStreams } from '../pipeline/conflatedStreams.js';
import type { SymbolDemand } from '../pipeline/symbolDemand.js';
import type { Quote } from '../protocol.js';
import { jsonTicks, type TicksEncoding } from './ticksFrame.js';
import { TurnBatcher } from './tierBatch.js';

const PREFIX = 'q:';

/** The Socket.IO room of a symbol at a rate tier: `q:AAPL@4`. */
export function tierRoom(symbol: string, hz: number): string {
  return `${PREFIX}${symbol}@${hz}`;
}

export function parseTierRoom(room: string): { symbol: string; hz: number } | undefined {
  if (!room.startsWith(PREFIX)) return undefined;
  const at = room.lastIndexOf('@');
  const hz = Number(room.slice(at + 1));
  return at > PREFIX.length && Number.isFinite(hz) ? { symbol: room.slice(PREFIX.length, at), hz } : undefined;
}

export type PublisherOptions = {
  /**
   * `batch` (default): the updates that fall due in the same event-loop turn go out as one pre-encoded
   * frame per socket; it reads the local adapter's rooms, so it needs the sockets in this process. `room`:
   * one `io.to(room).emit` per symbol-tier update (works through any adapter, e.g. Redis).
   */
  mode?: 'batch' | 'room';
  /** How batched frames are encoded; must match the server's Socket.IO parser. */
  encoding?: TicksEncoding<string> | TicksEncoding<Uint8Array>;
};

type EngineConnection = { readyState: string; write(data: string | Buffer): void };

/**
 * Publishes each symbol-tier stream (conflated once per symbol and tier by ConflatedStreams) to its room
 * while the room exists: the adapter's `create-room` starts it, `delete-room` (last member gone) stops it.
 * Rooms stay the source of truth for who gets what, so anything that moves a socket between tiers (the
 * slow-consumer policy) works the same in both modes.
 */
export class TierRoomPublisher {
  private readonly active = new Map<string, Subscription>();
  private readonly batchers = new Map<number, TurnBatcher<Quote>>();
  private readonly mode: 'batch' | 'room';
  private readonly encoding: TicksEncoding<string | Uint8Array>;

  constructor(
    private readonly io: Server,
    private readonly streams: ConflatedStreams,
    private readonly onPublish?: (quote: Quote, room: string) => void,
    private readonly demand?: SymbolDemand,
    options: PublisherOptions = {},
  ) {
    this.mode = options.mode ?? 'batch';
    this.encoding = (options.encoding ?? jsonTicks) as TicksEncoding<string | Uint8Array>;
  }

  start(): void {
    const adapter = this.io.of('/').adapter;
    adapter.on('create-room', (room: string) => this.open(room));
    adapter.on('delete-room', (room: string) => this.closeRoom(room));
  }

  get roomCount(): number {
    return this.active.size;
  }

  private open(room: string): void {
    const pair = parseTierRoom(room);
    if (!pair || this.active.has(room)) return;
    this.demand?.add(pair.symbol);
    const stream = this.streams.stream(pair.symbol, pair.hz);
    if (this.mode === 'batch') {
      const batcher = this.batcher(pair.hz);
      this.active.set(
        room,
        stream.subscribe((quote) => batcher.add(quote.symbol, quote)),
      );
      return;
    }
    const target = this.io.to(room);
    this.active.set(
      room,
      stream.subscribe((quote) => {
        target.emit('ticks', [quote]);
        this.onPublish?.(quote, room);
      }),
    );
  }

  private batcher(hz: number): TurnBatcher<Quote> {
    let batcher = this.batchers.get(hz);
    if (!batcher) {
      batcher = new TurnBatcher<Quote>((batch) => this.deliver(hz, batch));
      this.batchers.set(hz, batcher);
    }
    return batcher;
  }

  private closeRoom(room: string): void {
    const subscription = this.active.get(room);
    if (!subscription) return;
    subscription.unsubscribe();
    this.active.delete(room);
    const pair = parseTierRoom(room);
    if (pair) this.demand?.remove(pair.symbol);
  }

  /**
   * One turn's updates of a tier: each quote encoded once, then per socket one frame holding the quotes of
   * its rooms. The per-socket work is a push per (quote, member) and one join and write per socket.
   */
  private deliver(hz: number, batch: Quote[]): void {
    const nsp = this.io.of('/');
    const rooms = nsp.adapter.rooms;
    const perSocket = new Map<string, (string | Uint8Array)[]>();
    for (const quote of batch) {
      const room = tierRoom(quote.symbol, hz);
      const members = rooms.get(room);
      if (!members || members.size === 0) continue;
      const part = this.encoding.part(quote);
      for (const id of members) {
        const parts = perSocket.get(id);
        if (parts) parts.push(part);
        else perSocket.set(id, [part]);
      }
      this.onPublish?.(quote, room);
    }
    for (const [id, parts] of perSocket) {
      const conn = nsp.sockets.get(id)?.conn as EngineConnection | undefined;
      if (conn?.readyState === 'open') conn.write(this.encoding.frame(parts));
    }
  }

  stop(): void {
    for (const subscription of this.active.values()) subscription.unsubscribe();
    this.active.clear();
    for (const batcher of this.batchers.values()) batcher.clear();
    this.batchers.clear();
  }
}
