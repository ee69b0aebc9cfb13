import { encode } from '@msgpack/msgpack';
import type { Quote } from '../protocol.js';

/**
 * Pre-encoded `ticks` packets: each quote is encoded once per tier update, and a socket's frame is the
 * concatenation of the quotes it watches, so the per-socket work is a join or a copy, never a serialization.
 */
export type TicksEncoding = {
  /** One quote, encoded once for every socket that gets it. */
  part(quote: Quote): EncodedQuote;
  /** The Socket.IO packet (default namespace) `ticks` with these quotes, as engine.io takes it. */
  packet(parts: readonly EncodedQuote[]): string | Buffer;
  /**
   * The same packet as a complete WebSocket frame of an engine.io message, for engine.io's pre-encoded
   * frame path (written as is, with no engine.io or ws encoding per socket): the frame header, then the
   * payload. A JSON payload stays a string: the stream writes it straight into the kernel's buffer, where a
   * Buffer would cost a JavaScript allocation per frame (frames are above Node's 4 KB pooled size).
   */
  wsFrame(parts: readonly EncodedQuote[]): [Buffer, string | Buffer];
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

// Socket.IO's default parser: an EVENT packet is `2` + the JSON array of its arguments; engine.io's text
// message adds its type `4` in front.
const JSON_HEAD = '2["ticks",[';
const JSON_TAIL = ']]';

export const jsonTicks: TicksEncoding = {
  part: (quote) => {
    const data = JSON.stringify(quote);
    return { data, byteLength: Buffer.byteLength(data) };
  },
  packet: (parts) => `${JSON_HEAD}${parts.map((p) => p.data).join(',')}${JSON_TAIL}`,
  wsFrame: (parts) => {
    let payload = `4${JSON_HEAD}`;
    let byteLength = payload.length + JSON_TAIL.length + Math.max(0, parts.length - 1);
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i] as EncodedQuote;
      payload += i === 0 ? part.data : `,${part.data}`;
      byteLength += part.byteLength;
    }
    payload += JSON_TAIL;
    return [wsFrameHeader(TEXT, byteLength), payload];
  },
};

// socket.io-msgpack-parser encodes the packet object `{ type: 2, data: ['ticks', quotes], nsp: '/' }`.
const MSGPACK_HEAD = Buffer.from([
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
  0xa5,
  ...Buffer.from('ticks'),
]);

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
  packet: (parts) => msgpackPacket(parts),
  wsFrame: (parts) => {
    const payload = msgpackPacket(parts);
    return [wsFrameHeader(BINARY, payload.length), payload];
  },
};

function msgpackPacket(parts: readonly EncodedQuote[]): Buffer {
  return Buffer.concat([MSGPACK_HEAD, msgpackArrayHeader(parts.length), ...parts.map((p) => p.data as Buffer)]);
}
