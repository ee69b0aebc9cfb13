/**
 * Reads what the bench servers send without parsing whole frames: the generator must stay far cheaper
 * than the server it measures, so a ticks frame is scanned for its `"ts":` fields only.
 */

const TS_KEY = Buffer.from('"ts":');
const DIGIT_0 = 48;
const DIGIT_9 = 57;

export type TicksScan = { count: number; oldestTs: number; newestTs: number };

/** Counts the quotes in a JSON ticks frame and returns their oldest and newest `ts` (epoch ms). */
export function scanTicks(frame: Buffer, from = 0, onTs?: (ts: number) => void): TicksScan {
  let count = 0;
  let oldestTs = Number.POSITIVE_INFINITY;
  let newestTs = 0;
  let at = frame.indexOf(TS_KEY, from);
  while (at !== -1) {
    let i = at + TS_KEY.length;
    let ts = 0;
    for (let c = frame[i]; c !== undefined && c >= DIGIT_0 && c <= DIGIT_9; c = frame[++i])
      ts = ts * 10 + (c - DIGIT_0);
    count += 1;
    if (ts < oldestTs) oldestTs = ts;
    if (ts > newestTs) newestTs = ts;
    onTs?.(ts);
    at = frame.indexOf(TS_KEY, i);
  }
  return { count, oldestTs, newestTs };
}

/** What an incoming frame is, for the three server kinds. */
export type FrameKind =
  | { kind: 'open' }
  | { kind: 'ping' }
  | { kind: 'connected' }
  | { kind: 'ack'; ok: boolean }
  | { kind: 'ticks' }
  | { kind: 'other' };

const EIO_MESSAGE = 52; // '4'
const SIO_EVENT = 50; // '2'

/** Classifies an engine.io v4 / socket.io v5 text frame by its first bytes. */
export function classifySocketIo(frame: Buffer): FrameKind {
  const first = frame[0];
  if (first === 48) return { kind: 'open' }; // '0{...}'
  if (first === 50) return { kind: 'ping' }; // '2'
  if (first !== EIO_MESSAGE) return { kind: 'other' };
  const second = frame[1];
  if (second === 48) return { kind: 'connected' }; // '40{...}'
  if (second === 51) return { kind: 'ack', ok: frame.includes('"ok":true') }; // '43<id>[...]'
  if (second === SIO_EVENT) {
    // '42["ticks",[...]]' (tickstream) or '42["tick",{...}]' (naive)
    if (frame[4] === 116 && frame[5] === 105 && frame[6] === 99 && frame[7] === 107) return { kind: 'ticks' };
  }
  return { kind: 'other' };
}

/** Classifies a frame of the raw ws server: `[quote,...]` or `{"ok":...}`. */
export function classifyRaw(frame: Buffer): FrameKind {
  if (frame[0] === 91) return { kind: 'ticks' }; // '['
  if (frame[0] === 123) return { kind: 'ack', ok: frame.includes('"ok":true') };
  return { kind: 'other' };
}
