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

const ENTRY_KEY = Buffer.from('{"s":"');
const QUOTE = 34; // '"'
const MINUS = 45; // '-'
const ABSOLUTE_KEY = Buffer.from('"T":');
const RELATIVE_KEY = Buffer.from('"t":');

function readInteger(frame: Buffer, from: number): number {
  let i = from;
  const negative = frame[i] === MINUS;
  if (negative) i++;
  let n = 0;
  for (let c = frame[i]; c !== undefined && c >= DIGIT_0 && c <= DIGIT_9; c = frame[++i]) n = n * 10 + (c - DIGIT_0);
  return negative ? -n : n;
}

/**
 * Counts the updates in a JSON `deltas` frame (docs/PROTOCOL.md, "Field deltas") and gives each one's time:
 * `T` is absolute, `t` relative to the previous update of the symbol, which `times` keeps (one map per socket).
 * Keys come in the server's order (s, q, e?, T or t), so each entry's time is found right after its symbol.
 */
export function scanDeltas(frame: Buffer, times: Map<string, number>, onTs?: (ts: number) => void): TicksScan {
  let count = 0;
  let oldestTs = Number.POSITIVE_INFINITY;
  let newestTs = 0;
  let at = frame.indexOf(ENTRY_KEY);
  while (at !== -1) {
    const start = at + ENTRY_KEY.length;
    const end = frame.indexOf(QUOTE, start);
    const symbol = frame.toString('latin1', start, end);
    const next = frame.indexOf(ENTRY_KEY, end);
    const limit = next === -1 ? frame.length : next;
    const absolute = frame.indexOf(ABSOLUTE_KEY, end);
    let ts: number | undefined;
    if (absolute !== -1 && absolute < limit) ts = readInteger(frame, absolute + ABSOLUTE_KEY.length);
    else {
      const relative = frame.indexOf(RELATIVE_KEY, end);
      const base = times.get(symbol);
      if (relative !== -1 && relative < limit && base !== undefined)
        ts = base + readInteger(frame, relative + RELATIVE_KEY.length);
    }
    if (ts !== undefined) {
      times.set(symbol, ts);
      count += 1;
      if (ts < oldestTs) oldestTs = ts;
      if (ts > newestTs) newestTs = ts;
      onTs?.(ts);
    }
    at = next;
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
  | { kind: 'deltas' }
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
    // '42["deltas",[...]]' (tickstream, field deltas)
    if (frame[4] === 100 && frame[5] === 101 && frame[6] === 108 && frame[7] === 116) return { kind: 'deltas' };
  }
  return { kind: 'other' };
}

/** Classifies a frame of the raw ws server: `[quote,...]` or `{"ok":...}`. */
export function classifyRaw(frame: Buffer): FrameKind {
  if (frame[0] === 91) return { kind: 'ticks' }; // '['
  if (frame[0] === 123) return { kind: 'ack', ok: frame.includes('"ok":true') };
  return { kind: 'other' };
}
