import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { decode, encode } from '@msgpack/msgpack';
import * as hdr from 'hdr-histogram-js';
import WebSocket from 'ws';
import { classifyRaw, classifySocketIo, type FrameKind, scanTicks } from './frames.js';

/**
 * One load-generator thread: raw `ws` clients speaking engine.io v4 / socket.io v5 by hand (or the raw
 * server's JSON protocol), so that thousands of sockets cost the generator little. It counts the quotes it
 * receives and records their age (receive time minus the quote's `ts`) and each frame's lag (receive time
 * minus the newest `ts` in the frame).
 */

export type WorkerPlan = {
  /** Where each socket connects: the n-th socket of a thread to `urls[n % urls.length]` (several gateways). */
  urls: string[];
  protocol: 'socketio' | 'raw';
  parser: 'json' | 'msgpack';
  /** The symbols of each socket this thread opens; empty for idle sockets. */
  sockets: string[][];
  hz: number;
  connectConcurrency: number;
  /** A socket not subscribed within this is given up (a saturated server is measured with what it took). */
  handshakeTimeoutMs: number;
  /** No new socket is opened after this many ms from the start of the open phase. */
  openDeadlineMs: number;
};

export type WorkerCommand = { type: 'reset' } | { type: 'report' } | { type: 'close' };

export type WorkerReport = {
  type: 'report';
  received: number;
  /** Of `received`, those older than LATE_MS on arrival. */
  late: number;
  frames: number;
  /** Histograms in hdr's compressed base64 form, in milliseconds. */
  age: string;
  lag: string;
  elu: number;
  loopDelayP99Ms: number;
  open: number;
};

export type WorkerMessage =
  | { type: 'ready'; connected: number; failed: number; firstError?: string }
  | WorkerReport
  | { type: 'closed' };

const plan = workerData as WorkerPlan;
const port = parentPort;
if (!port) throw new Error('worker.ts runs as a worker thread');

const newHistogram = () =>
  hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000, numberOfSignificantValueDigits: 3 });
let age = newHistogram();
let lag = newHistogram();
let received = 0;
let frames = 0;
let open = 0;
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
let eluStart = performance.eventLoopUtilization();
const clients: WebSocket[] = [];

/** An update older than this when it arrives is counted as late, not delivered: a backlog is not throughput. */
const LATE_MS = 1000;
let late = 0;

const recordTs = (now: number) => (ts: number) => {
  const ageMs = Math.max(0, now - ts);
  age.recordValue(ageMs);
  if (ageMs > LATE_MS) late += 1;
};

function onTicksJson(frame: Buffer): void {
  const now = Date.now();
  const scan = scanTicks(frame, 0, recordTs(now));
  if (scan.count === 0) return;
  received += scan.count;
  frames += 1;
  lag.recordValue(Math.max(0, now - scan.newestTs));
}

type MsgpackPacket = { type: number; data?: unknown; id?: number; nsp: string };

function onMsgpack(frame: Buffer, ws: WebSocket, done: (ok: boolean, error?: string) => void): void {
  const packet = decode(frame) as MsgpackPacket;
  if (packet.type === 0) {
    ws.send(
      encode({ type: 2, data: ['subscribe', { symbols: subscriptionOf.get(ws), maxHz: plan.hz }], nsp: '/', id: 0 }),
    );
    return;
  }
  if (packet.type === 3) {
    const ack = (packet.data as { ok?: boolean }[])[0];
    done(ack?.ok === true, ack?.ok ? undefined : JSON.stringify(ack));
    return;
  }
  if (packet.type !== 2) return;
  const [event, payload] = packet.data as [string, unknown];
  if (event !== 'ticks' && event !== 'tick') return;
  const quotes = (Array.isArray(payload) ? payload : [payload]) as { ts: number }[];
  const now = Date.now();
  let newest = 0;
  const record = recordTs(now);
  for (const q of quotes) {
    record(q.ts);
    if (q.ts > newest) newest = q.ts;
  }
  received += quotes.length;
  frames += 1;
  lag.recordValue(Math.max(0, now - newest));
}

const subscriptionOf = new Map<WebSocket, string[]>();

/** Opens one client and resolves once it is subscribed (or merely connected, when idle). */
function openClient(symbols: string[], base: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const url = plan.protocol === 'socketio' ? `${base}/socket.io/?EIO=4&transport=websocket` : `${base}/raw`;
    const ws = new WebSocket(url, { perMessageDeflate: false });
    clients.push(ws);
    subscriptionOf.set(ws, symbols);
    let settled = false;
    const timeout = setTimeout(() => {
      done(false, `not subscribed within ${plan.handshakeTimeoutMs} ms`);
      ws.terminate();
    }, plan.handshakeTimeoutMs);
    const done = (ok: boolean, error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timeout);
      if (ok) {
        open += 1;
        resolve();
      } else reject(new Error(error ?? 'refused'));
    };
    const subscribeOrIdle = (send: () => void) => (symbols.length ? send() : done(true));
    ws.on('error', (err) => done(false, err.message));
    ws.on('close', () => {
      if (settled) open -= 1;
      done(false, 'closed during handshake');
    });
    ws.on('open', () => {
      if (plan.protocol === 'raw') subscribeOrIdle(() => ws.send(JSON.stringify({ subscribe: symbols })));
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) {
        if (!settled && !symbols.length && (decode(data) as MsgpackPacket).type === 0) return done(true);
        return onMsgpack(data, ws, done);
      }
      const frame: FrameKind = plan.protocol === 'raw' ? classifyRaw(data) : classifySocketIo(data);
      switch (frame.kind) {
        case 'ticks':
          return onTicksJson(data);
        case 'ping':
          return ws.send('3');
        case 'open':
          return ws.send(plan.parser === 'msgpack' ? encode({ type: 0, nsp: '/' }) : '40');
        case 'connected':
          return subscribeOrIdle(() => ws.send(`420${JSON.stringify(['subscribe', { symbols, maxHz: plan.hz }])}`));
        case 'ack':
          return done(frame.ok, frame.ok ? undefined : String(data).slice(0, 200));
        default:
          return;
      }
    });
  });
}

async function openAll(): Promise<void> {
  let next = 0;
  let failed = 0;
  let firstError: string | undefined;
  const deadline = Date.now() + plan.openDeadlineMs;
  const lane = async () => {
    while (next < plan.sockets.length) {
      if (Date.now() > deadline) {
        failed += plan.sockets.length - next;
        firstError ??= `open phase past its ${plan.openDeadlineMs} ms deadline`;
        next = plan.sockets.length;
        break;
      }
      const index = next++;
      const symbols = plan.sockets[index] as string[];
      try {
        await openClient(symbols, plan.urls[index % plan.urls.length] as string);
      } catch (err) {
        failed += 1;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: plan.connectConcurrency }, lane));
  port?.postMessage({ type: 'ready', connected: open, failed, firstError } satisfies WorkerMessage);
}

port.on('message', (command: WorkerCommand) => {
  if (command.type === 'reset') {
    age = newHistogram();
    lag = newHistogram();
    received = 0;
    late = 0;
    frames = 0;
    loopDelay.reset();
    eluStart = performance.eventLoopUtilization();
  } else if (command.type === 'report') {
    port.postMessage({
      type: 'report',
      received,
      late,
      frames,
      age: hdr.encodeIntoCompressedBase64(age),
      lag: hdr.encodeIntoCompressedBase64(lag),
      elu: performance.eventLoopUtilization(eluStart).utilization,
      loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
      open,
    } satisfies WorkerMessage);
  } else if (command.type === 'close') {
    for (const ws of clients) ws.terminate();
    loopDelay.disable();
    port.postMessage({ type: 'closed' } satisfies WorkerMessage);
    port.close();
  }
});

void openAll();
