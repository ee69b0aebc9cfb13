import type { Subscription } from 'rxjs';
import type { Server } from 'socket.io';
import { type ConflatedStreams, laneOf } from '../pipeline/conflatedStreams.js';
import type { SymbolDemand } from '../pipeline/symbolDemand.js';
import type { Quote } from '../protocol.js';
import { type EncodedQuote, jsonTicks, type TicksEncoding } from './ticksFrame.js';
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
  encoding?: TicksEncoding;
};

/** The engine.io internals read here (not in its typings): the transport and ws' sender under it. */
type EngineConnection = {
  readyState: string;
  transport: { name: string; perMessageDeflate?: unknown; socket?: { _sender?: { sendFrame?: unknown } } };
  write(data: string | Buffer, options?: { wsPreEncodedFrame?: (string | Buffer)[] }): void;
};

/** Whether engine.io will write a pre-encoded WebSocket frame as is (its own `_canSendPreEncodedFrame` test). */
function takesWsFrames(conn: EngineConnection): boolean {
  const { transport } = conn;
  return (
    transport.name === 'websocket' &&
    !transport.perMessageDeflate &&
    typeof transport.socket?._sender?.sendFrame === 'function'
  );
}

/**
 * Publishes each symbol-tier stream (conflated once per symbol and tier by ConflatedStreams) to its room
 * while the room has members. Rooms stay the source of truth for who gets what, so anything that moves a
 * socket between tiers (the slow-consumer policy) works the same in both modes.
 *
 * In `batch` mode the publisher follows joins and leaves and keeps each tier room's members by lane (see
 * `ConflatedStreams.lanesOf`): a lane's stream runs while the lane has members, and a lane's tick writes
 * only its own sockets. In `room` mode the adapter's `create-room` starts a stream and `delete-room` stops it.
 */
export class TierRoomPublisher {
  private readonly active = new Map<string, Subscription>();
  // `q:AAPL@4#3` -> the ids of that room's members in lane 3 (batch mode).
  private readonly laneMembers = new Map<string, Set<string>>();
  private readonly batchers = new Map<string, TurnBatcher<Quote>>();
  // Adjacent lanes often send the same quote (a symbol ticks less often than lanes fall due): encode it once.
  private readonly encoded = new WeakMap<Quote, EncodedQuote>();
  // Per tier, the quotes already published to one of its lanes.
  private readonly published = new Map<number, WeakSet<Quote>>();
  private readonly mode: 'batch' | 'room';
  private readonly encoding: TicksEncoding;

  constructor(
    private readonly io: Server,
    private readonly streams: ConflatedStreams,
    /**
     * Called for each symbol-tier update published, with the number of sockets it went to; `first` is
     * false when the same update goes to another lane of the tier (count updates on `first` only).
     */
    private readonly onPublish?: (quote: Quote, room: string, recipients: number, first: boolean) => void,
    private readonly demand?: SymbolDemand,
    options: PublisherOptions = {},
  ) {
    this.mode = options.mode ?? 'batch';
    this.encoding = options.encoding ?? jsonTicks;
  }

  start(): void {
    const adapter = this.io.of('/').adapter;
    if (this.mode === 'batch') {
      adapter.on('join-room', (room: string, id: string) => this.join(room, id));
      adapter.on('leave-room', (room: string, id: string) => this.leave(room, id));
      return;
    }
    adapter.on('create-room', (room: string) => this.openRoom(room));
    adapter.on('delete-room', (room: string) => this.close(room));
  }

  private join(room: string, id: string): void {
    const pair = parseTierRoom(room);
    if (!pair) return;
    const lane = laneOf(id, this.streams.lanesOf(pair.hz));
    const key = `${room}#${lane}`;
    let members = this.laneMembers.get(key);
    if (!members) {
      members = new Set();
      this.laneMembers.set(key, members);
      const batcher = this.batcher(pair.hz, lane);
      this.demand?.add(pair.symbol);
      this.active.set(
        key,
        this.streams.stream(pair.symbol, pair.hz, lane).subscribe((quote) => batcher.add(quote.symbol, quote)),
      );
    }
    members.add(id);
  }

  private leave(room: string, id: string): void {
    const pair = parseTierRoom(room);
    if (!pair) return;
    const key = `${room}#${laneOf(id, this.streams.lanesOf(pair.hz))}`;
    const members = this.laneMembers.get(key);
    if (!members?.delete(id) || members.size > 0) return;
    this.laneMembers.delete(key);
    this.close(key, pair.symbol);
  }

  private openRoom(room: string): void {
    const pair = parseTierRoom(room);
    if (!pair || this.active.has(room)) return;
    this.demand?.add(pair.symbol);
    const target = this.io.to(room);
    const members = this.io.of('/').adapter.rooms;
    this.active.set(
      room,
      this.streams.stream(pair.symbol, pair.hz).subscribe((quote) => {
        target.emit('ticks', [quote]);
        this.onPublish?.(quote, room, members.get(room)?.size ?? 0, true);
      }),
    );
  }

  private close(key: string, symbol = parseTierRoom(key)?.symbol): void {
    const subscription = this.active.get(key);
    if (!subscription) return;
    subscription.unsubscribe();
    this.active.delete(key);
    if (symbol !== undefined) this.demand?.remove(symbol);
  }

  private batcher(hz: number, lane: number): TurnBatcher<Quote> {
    const key = `${hz}#${lane}`;
    let batcher = this.batchers.get(key);
    if (!batcher) {
      batcher = new TurnBatcher<Quote>((batch) => this.deliver(hz, lane, batch));
      this.batchers.set(key, batcher);
    }
    return batcher;
  }

  /**
   * One turn's updates of a tier lane: each quote encoded once, then per socket one frame holding the
   * quotes of its rooms. The per-socket work is a push per (quote, member), one join (into a whole
   * WebSocket frame, for websocket transports) and one write.
   */
  private deliver(hz: number, lane: number, batch: Quote[]): void {
    const sockets = this.io.of('/').sockets;
    const perSocket = new Map<string, EncodedQuote[]>();
    let published = this.published.get(hz);
    if (!published) {
      published = new WeakSet();
      this.published.set(hz, published);
    }
    for (const quote of batch) {
      const room = tierRoom(quote.symbol, hz);
      const members = this.laneMembers.get(`${room}#${lane}`);
      if (!members || members.size === 0) continue;
      let part = this.encoded.get(quote);
      if (!part) {
        part = this.encoding.part(quote);
        this.encoded.set(quote, part);
      }
      for (const id of members) {
        const parts = perSocket.get(id);
        if (parts) parts.push(part);
        else perSocket.set(id, [part]);
      }
      const first = !published.has(quote);
      if (first) published.add(quote);
      this.onPublish?.(quote, room, members.size, first);
    }
    for (const [id, parts] of perSocket) {
      const conn = sockets.get(id)?.conn as EngineConnection | undefined;
      if (conn?.readyState !== 'open') continue;
      if (takesWsFrames(conn)) {
        // The payload is also the packet's data, so queued bytes are counted (slow consumers) as they are.
        const frame = this.encoding.wsFrame(parts);
        conn.write(frame[1], { wsPreEncodedFrame: frame });
      } else conn.write(this.encoding.packet(parts));
    }
  }

  stop(): void {
    for (const subscription of this.active.values()) subscription.unsubscribe();
    this.active.clear();
    this.laneMembers.clear();
    for (const batcher of this.batchers.values()) batcher.clear();
    this.batchers.clear();
  }
}
