import { encode } from '@msgpack/msgpack';
import type { Quote } from '../protocol.js';

/**
 * Pre-encoded `ticks` packets: each quote is encoded once per tier update, and a socket's frame is the
 * concatenation of the quotes it watches, so the per-socket work is a join, never a serialization.
 */
export type TicksEncoding<Part> = {
  /** One quote, encoded once for every socket that gets it. */
  part(quote: Quote): Part;
  /** The complete Socket.IO packet (default namespace) `ticks` with these quotes, ready for engine.io. */
  frame(parts: readonly Part[]): string | Buffer;
};

/** Socket.IO's default JSON parser: an EVENT packet is `2` + the JSON array of its arguments. */
export const jsonTicks: TicksEncoding<string> = {
  part: (quote) => JSON.stringify(quote),
  frame: (parts) => `2["ticks",[${parts.join(',')}]]`,
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

/** socket.io-msgpack-parser: the packet object as one msgpack map, written as a binary frame. */
export const msgpackTicks: TicksEncoding<Uint8Array> = {
  part: (quote) => encode(quote),
  frame: (parts) => Buffer.concat([MSGPACK_HEAD, msgpackArrayHeader(parts.length), ...parts]),
};
