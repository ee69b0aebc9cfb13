import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { constants, createGunzip, inflateRawSync } from 'node:zlib';
import { messageOf } from '../errorMessage.js';

/** Decompressed bytes of a gzip file, tagged with the file offset of the member they come from. */
export type MemberChunk = { member: number; data: Buffer /** Compressed bytes read so far. */; readBytes: number };

const FHCRC = 2;
const FEXTRA = 4;
const FNAME = 8;
const FCOMMENT = 16;
const TRAILER_BYTES = 8;

/** The length of the gzip member header at `at` (RFC 1952), or undefined when `buf` ends before it does. */
function gzipHeaderLength(buf: Buffer, at: number): number | undefined {
  if (buf.length - at < 10) return undefined;
  const flags = buf[at + 3] as number;
  let length = 10;
  if (flags & FEXTRA) {
    if (buf.length - at < length + 2) return undefined;
    length += 2 + buf.readUInt16LE(at + length);
  }
  for (const flag of [FNAME, FCOMMENT]) {
    if (!(flags & flag)) continue;
    const end = buf.indexOf(0, at + length);
    if (end === -1) return undefined;
    length = end + 1 - at;
  }
  if (flags & FHCRC) length += 2;
  return at + length <= buf.length ? length : undefined;
}

/**
 * Compressed data that does not inflate: the file is damaged in the gzip member that starts at byte `at`, or
 * (`within: 'after'`, a reader that inflates members as one stream) somewhere from that byte on.
 */
export class CorruptGzipError extends Error {
  override name = 'CorruptGzipError';
  constructor(
    readonly at: number,
    cause: unknown,
    within: 'member' | 'after' = 'member',
  ) {
    const why = messageOf(cause);
    super(`corrupt gzip ${within === 'member' ? 'member at' : 'data after'} byte ${at}: ${why}`);
  }
}

/** An error zlib raised on data it cannot inflate (Z_DATA_ERROR, Z_BUF_ERROR...), not one of reading the file. */
export function isZlibError(err: unknown): err is Error {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' && err.code.startsWith('Z_');
}

/**
 * The decompressed bytes of the first gzip member of `head` (a file's first bytes; of a member cut off by the
 * end of `head`, what it holds): what a file's first line is read from, whatever the state of later members.
 */
export function firstMember(head: Buffer): Buffer {
  const header = gzipHeaderLength(head, 0);
  if (header === undefined) return Buffer.alloc(0);
  try {
    // Raw inflate ends with the member's deflate stream; the trailer and the members after it are not read.
    return inflateRawSync(head.subarray(header), { finishFlush: constants.Z_SYNC_FLUSH });
  } catch (err) {
    throw new CorruptGzipError(0, err);
  }
}

export function isGzipMagic(buf: Buffer, at = 0): boolean {
  return buf[at] === 0x1f && buf[at + 1] === 0x8b && buf[at + 2] === 8;
}

type InflateInfo = { buffer: Buffer; engine: { bytesWritten: number } };
function isInflateInfo(value: unknown): value is InflateInfo {
  return typeof value === 'object' && value !== null && 'buffer' in value && 'engine' in value;
}

/**
 * The members of a gzip file, decompressed one by one, so that a recording's index can point at the member
 * a line is in (a reader can start decompressing at any member). A member is inflated from a window of
 * `windowBytes` of compressed input, and the deflate stream's end (what zlib consumed) says where the next
 * member starts. A member larger than the window (one huge member, as `gzip FILE` makes) ends the search:
 * the rest of the file is streamed as if it were that member. A truncated last member (a killed writer) gives
 * what it holds.
 */
export async function* gzipMembers(file: string, windowBytes = 1 << 20): AsyncGenerator<MemberChunk> {
  const handle = await open(file, 'r');
  try {
    const size = (await handle.stat()).size;
    let buf = Buffer.alloc(0);
    let bufStart = 0;
    // Makes buf hold [from, from + want), or up to the end of the file; reads ahead in large blocks.
    const fill = async (from: number, want: number) => {
      if (from >= bufStart && from + want <= bufStart + buf.length) return;
      const keep = buf.subarray(Math.max(0, from - bufStart));
      const length = Math.min(size - from, Math.max(want, 4 * windowBytes));
      const next = Buffer.allocUnsafe(length);
      keep.copy(next, 0, 0, Math.min(keep.length, length));
      let filled = Math.min(keep.length, length);
      while (filled < length) {
        const { bytesRead } = await handle.read(next, filled, length - filled, from + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      buf = next.subarray(0, filled);
      bufStart = from;
    };
    let at = 0;
    while (at < size) {
      await fill(at, Math.min(windowBytes, size - at));
      const rel = at - bufStart;
      // Anything after the last member that is not another one (zero padding) ends the file, as for gunzip.
      if (!isGzipMagic(buf, rel)) return;
      const header = gzipHeaderLength(buf, rel);
      if (header === undefined) return;
      const window = buf.subarray(rel + header, Math.min(buf.length, rel + windowBytes));
      let result: unknown;
      try {
        result = inflateRawSync(window, { info: true, finishFlush: constants.Z_SYNC_FLUSH });
      } catch (err) {
        throw new CorruptGzipError(at, err);
      }
      if (!isInflateInfo(result)) throw new Error('zlib did not report how much it read');
      const consumed = result.engine.bytesWritten;
      if (consumed + TRAILER_BYTES <= window.length) {
        const member = at;
        at += header + consumed + TRAILER_BYTES;
        yield { member, data: result.buffer, readBytes: at };
        continue;
      }
      if (at + header + window.length >= size) {
        yield { member: at, data: result.buffer, readBytes: size };
        return;
      }
      // Larger than the window: decompress the rest as one stream, all of it reachable from this member.
      const member = at;
      let readBytes = at;
      const raw = createReadStream(file, { start: at, highWaterMark: 1 << 20 });
      raw.on('data', (chunk) => {
        readBytes += chunk.length;
      });
      try {
        for await (const data of raw.pipe(createGunzip({ finishFlush: constants.Z_SYNC_FLUSH }))) {
          if (Buffer.isBuffer(data)) yield { member, data, readBytes };
        }
      } catch (err) {
        throw new CorruptGzipError(member, err);
      }
      return;
    }
  } finally {
    await handle.close();
  }
}
