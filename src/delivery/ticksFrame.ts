import { encode } from '@msgpack/msgpack';
import type { Quote, QuoteDelta } from '../protocol.js';
import { knownJson } from '../quoteJson.js';
import type { EncodedPacket, WsFrame } from './engine.js';

/**
 * Pre-encoded `ticks` packets: each quote is encoded once per update, and a frame is the concatenation of
 * the quotes due, encoded once for every socket that gets the same set, so the per-socket work is a write,
 * never a serialization.
 */
export type TicksEncoding = {
  /** One quote (or a QuoteDelta), encoded once for every socket that gets it. */
  part(quote: Quote | QuoteDelta): EncodedQuote;
  /**
   * The Socket.IO packet (default namespace) `ticks` with these quotes: as engine.io takes a message, and as
   * a complete WebSocket frame of that message (header and payload in one chunk).
   */
  packet(parts: readonly EncodedQuote[], event?: FrameEvent): EncodedPacket;
};

export type EncodedQuote = { data: string | Buffer; byteLength: number };

const TEXT = 0x1;
const BINARY = 0x2;

/** The header of an unmasked, final WebSocket frame (RFC 6455 5.2) of `payloadLength` bytes. */
export function wsFrameHeader(opcode: number, payloadLength: number): Buffer {
  const headerLength = payloadLength < 126 ? 2 : payloadLength < 0x10000 ? 4 : 10;
  const header = Buffer.allocUnsafe(headerLength);
  header[0] = 0x80 | opcode;
  if (headerLength === 2) header[1] = payloadLength;
  else if (headerLength === 4) {
    header[1] = 126;
    header.writeUInt16BE(payloadLength, 2);
  } else {
    header[1] = 127;
    header.writeUInt32BE(0, 2);
    header.writeUInt32BE(payloadLength, 6);
  }
  return header;
}

/**
 * An encoded packet whose WebSocket frame is built on first use (only websocket sockets need it), once for
 * every socket it goes to. A class, not a closure per packet: packets are made at the frame rate.
 */
class FramedPacket implements EncodedPacket {
  private frame: WsFrame | undefined;

  constructor(
    readonly message: string | Buffer,
    private readonly opcode: number,
    private readonly payload: string | Buffer,
    private readonly payloadLength: number,
  ) {}

  wsFrame(): WsFrame {
    this.frame ??= wholeFrame(wsFrameHeader(this.opcode, this.payloadLength), this.payload, this.payloadLength);
    return this.frame;
  }
}

/**
 * A frame as one chunk, so that each socket's write is one plain write (no cork, no writev, no copy into a
 * fresh allocation per socket). ASCII text, as JSON frames are but for names, stays a string: header and
 * payload as latin1 characters, which the stream copies into its stack buffer on the way to the kernel,
 * where a Buffer would cost a JavaScript allocation per frame. Other text and binary payloads are one Buffer.
 */
function wholeFrame(header: Buffer, payload: string | Buffer, payloadLength: number): WsFrame {
  if (typeof payload !== 'string') return Buffer.concat([header, payload]);
  if (payload.length === payloadLength) return header.toString('latin1') + payload;
  return Buffer.concat([header, Buffer.from(payload)]);
}

// Socket.IO's default parser: an EVENT packet is `2` + the JSON array of its arguments; engine.io's text
// message adds its type `4` in front.
/** The server-to-client events a frame carries: whole quotes, or field deltas (docs/PROTOCOL.md). */
export type FrameEvent = 'ticks' | 'deltas';

const JSON_HEADS: Record<FrameEvent, string> = { ticks: '2["ticks",[', deltas: '2["deltas",[' };
const JSON_TAIL = ']]';

export const jsonTicks: TicksEncoding = {
  part: (quote) => {
    // A whole quote may already have its text (a gateway's, from Redis); a delta is made for this frame. Not
    // stored here: the tier delivery caches the part it gets.
    const data = ('symbol' in quote ? knownJson(quote) : undefined) ?? JSON.stringify(quote);
    return { data, byteLength: Buffer.byteLength(data) };
  },
  packet: (parts, event = 'ticks') => {
    const head = JSON_HEADS[event];
    let message = head;
    let byteLength = head.length + JSON_TAIL.length + Math.max(0, parts.length - 1);
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i] as EncodedQuote;
      message += i === 0 ? part.data : `,${part.data}`;
      byteLength += part.byteLength;
    }
    message += JSON_TAIL;
    // engine.io's text message is its type `4` and the packet.
    return new FramedPacket(message, TEXT, `4${message}`, byteLength + 1);
  },
};

// socket.io-msgpack-parser encodes the packet object `{ type: 2, data: [event, quotes], nsp: '/' }`.
const msgpackHead = (event: FrameEvent) =>
  Buffer.from([
    0x83, // map of 3
    0xa4,
    ...Buffer.from('type'),
    0x02,
    0xa3,
    ...Buffer.from('nsp'),
    0xa1,
    ...Buffer.from('/'),
    0xa4,
    ...Buffer.from('data'),
    0x92,
    0xa0 | event.length, // fixstr
    ...Buffer.from(event),
  ]);
const MSGPACK_HEADS: Record<FrameEvent, Buffer> = { ticks: msgpackHead('ticks'), deltas: msgpackHead('deltas') };

function msgpackArrayHeader(length: number): Buffer {
  if (length < 16) return Buffer.from([0x90 | length]);
  if (length < 0x10000) return Buffer.from([0xdc, length >> 8, length & 0xff]);
  const header = Buffer.alloc(5);
  header[0] = 0xdd;
  header.writeUInt32BE(length, 1);
  return header;
}

/** socket.io-msgpack-parser: the packet object as one msgpack map, sent as a binary message (no prefix). */
export const msgpackTicks: TicksEncoding = {
  part: (quote) => {
    // A copy: encode() returns a view on a larger scratch buffer, which a cached part would keep alive.
    const data = Buffer.from(encode(quote));
    return { data, byteLength: data.length };
  },
  packet: (parts, event = 'ticks') => {
    const message = msgpackPacket(parts, event);
    return new FramedPacket(message, BINARY, message, message.length);
  },
};

function msgpackPacket(parts: readonly EncodedQuote[], event: FrameEvent): Buffer {
  return Buffer.concat([MSGPACK_HEADS[event], msgpackArrayHeader(parts.length), ...parts.map((p) => p.data as Buffer)]);
}
