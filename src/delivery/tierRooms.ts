import type { Subscription } from 'rxjs';
import type { Server } from 'socket.io';
import type { ConflatedStreams } from '../pipeline/conflatedStreams.js';
import type { SymbolDemand } from '../pipeline/symbolDemand.js';
import type { Quote } from '../protocol.js';

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

/**
 * Publishes each symbol-tier stream to its room while the room exists: the adapter's `create-room` starts
 * the conflated stream, `delete-room` (last member gone) stops it. One emit per update per room, encoded
 * once by Socket.IO for all of its members.
 */
export class TierRoomPublisher {
  private readonly active = new Map<string, Subscription>();

  constructor(
    private readonly io: Server,
    private readonly streams: ConflatedStreams,
    private readonly onPublish?: (quote: Quote, room: string) => void,
    private readonly demand?: SymbolDemand,
  ) {}

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
    const target = this.io.to(room);
    this.demand?.add(pair.symbol);
    this.active.set(
      room,
      this.streams.stream(pair.symbol, pair.hz).subscribe((quote) => {
        target.emit('ticks', [quote]);
        this.onPublish?.(quote, room);
      }),
    );
  }

  private closeRoom(room: string): void {
    const subscription = this.active.get(room);
    if (!subscription) return;
    subscription.unsubscribe();
    this.active.delete(room);
    const pair = parseTierRoom(room);
    if (pair) this.demand?.remove(pair.symbol);
  }

  stop(): void {
    for (const subscription of this.active.values()) subscription.unsubscribe();
    this.active.clear();
  }
}
