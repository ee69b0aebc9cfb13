import { encode } from '@msgpack/msgpack';
import type { Quote } from '../protocol.js';

/**
 * Pre-encoded `ticks` packets: each quote is encoded once per tier update, and a socket's frame is the
 * concatenation of the quotes it watches, so the per-socket work is a copy, never a serialization.
 */
export type TicksEncoding = {
  /** One quote, encoded once for every socket that gets it. */
  part(quote: Quote): Buffer;
  /** The Socket.IO packet (default namespace) `ticks` with these quotes, as engine.io takes it. */
  packet(parts: readonly Buffer[]): string | Buffer;
  /**
   * The same packet as a complete WebSocket frame of an engine.io message, for engine.io's pre-encoded
   * frame path: one buffer written as is, with no engine.io or ws encoding per socket.
   */
  wsFrame(parts: readonly Buffer[]): Buffer;
};

const TEXT = 0x1;
const BINARY = 0x2;

/** An unmasked, final WebSocket frame (RFC 6455 5.2) of `payloadLength` bytes; returns it and the offset to fill. */
function wsFrame(opcode: number, payloadLength: number): { frame: Buffer; offset: number } {
  const headerLength = payloadLength < 126 ? 2 : payloadLength < 0x10000 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + payloadLength);
  frame[0] = 0x80 | opcode;
  if (headerLength === 2) frame[1] = payloadLength;
  else if (headerLength === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(payloadLength, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(0, 2);
    frame.writeUInt32BE(payloadLength, 6);
  }
  return { frame, offset: headerLength };
}

/** Copies `head`, the parts separated by `separator`, then `tail` into a frame of the given opcode. */
function framed(opcode: number, head: Buffer, parts: readonly Buffer[], separator: Buffer | undefined, tail: Buffer) {
  let length = head.length + tail.length;
  for (const part of parts) length += part.length;
  if (separator && parts.length > 1) length += separator.length * (parts.length - 1);
  const { frame, offset } = wsFrame(opcode, length);
  let at = offset + head.copy(frame, offset);
  for (let i = 0; i < parts.length; i++) {
    if (separator && i > 0) at += separator.copy(frame, at);
    at += (parts[i] as Buffer).copy(frame, at);
  }
  tail.copy(frame, at);
  return frame;
}

// Socket.IO's default parser: an EVENT packet is `2` + the JSON array of its arguments; engine.io's text
// message adds its type `4` in front.
const JSON_HEAD = Buffer.from('2["ticks",[');
const JSON_WS_HEAD = Buffer.from('42["ticks",[');
const JSON_TAIL = Buffer.from(']]');
const COMMA = Buffer.from(',');
const EMPTY = Buffer.alloc(0);

export const jsonTicks: TicksEncoding = {
  part: (quote) => Buffer.from(JSON.stringify(quote)),
  packet: (parts) => `${JSON_HEAD}${parts.join(',')}${JSON_TAIL}`,
  wsFrame: (parts) => framed(TEXT, JSON_WS_HEAD, parts, COMMA, JSON_TAIL),
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
    const bytes = encode(quote);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  },
  packet: (parts) => Buffer.concat([MSGPACK_HEAD, msgpackArrayHeader(parts.length), ...parts]),
  wsFrame: (parts) =>
    framed(BINARY, Buffer.concat([MSGPACK_HEAD, msgpackArrayHeader(parts.length)]), parts, undefined, EMPTY),
};
